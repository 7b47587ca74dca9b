# experiture_warnings(target): the project's warning set, errors when EXPERITURE_WERROR is on.
function(experiture_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(EXPERITURE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
