# Size of the shipped library (issue 15; figures in BENCHMARKS.md, measured by experiture-bench's
# binary_sizes with scripts/build-size-variants.sh):
# - every function and object of core/ and platform/ in its own section (those folders call
#   experiture_size_compile_options), so the linker drops what nothing references
#   (experiture_size_link_options adds --gc-sections to the shared library);
# - Release builds -O2 instead of CMake's -O3 (-O3's unrolling and inlining made the library
#   about a sixth larger), MinSizeRel -Oz where the compiler has it;
# - link-time optimisation for Release and MinSizeRel where the toolchain supports it.
include(CheckCXXCompilerFlag)
include(CheckIPOSupported)
include(CheckLinkerFlag)

# For the targets of the calling folder and below.
macro(experiture_size_compile_options)
  add_compile_options(-ffunction-sections -fdata-sections)
endmacro()
foreach(lang C CXX)
  string(REPLACE "-O3" "-O2" CMAKE_${lang}_FLAGS_RELEASE "${CMAKE_${lang}_FLAGS_RELEASE}")
endforeach()
check_cxx_compiler_flag(-Oz EXPERITURE_HAVE_OZ)
if(EXPERITURE_HAVE_OZ)
  foreach(lang C CXX)
    string(REPLACE "-Os" "-Oz" CMAKE_${lang}_FLAGS_MINSIZEREL "${CMAKE_${lang}_FLAGS_MINSIZEREL}")
  endforeach()
endif()
check_ipo_supported(RESULT EXPERITURE_HAVE_IPO OUTPUT ipo_output LANGUAGES C CXX)
if(EXPERITURE_HAVE_IPO)
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION_RELEASE ON)
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION_MINSIZEREL ON)
endif()
# Identical code folding (gold): template instances with the same machine code share one copy.
# "safe" folds only functions whose address is never taken, so pointer comparisons still hold.
check_linker_flag(CXX "-fuse-ld=gold;LINKER:--icf=safe" EXPERITURE_HAVE_GOLD_ICF)

# The shipped shared library's link options.
function(experiture_size_link_options target)
  target_link_options(${target} PRIVATE LINKER:--gc-sections)
  if(EXPERITURE_HAVE_GOLD_ICF)
    target_link_options(${target} PRIVATE $<$<CONFIG:Release,MinSizeRel>:-fuse-ld=gold
      LINKER:--icf=safe>)
  endif()
endfunction()
