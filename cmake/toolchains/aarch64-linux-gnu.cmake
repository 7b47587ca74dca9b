# Cross build for aarch64-linux-gnu with Debian's cross compiler (g++-aarch64-linux-gnu); run with
# -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake, usually through scripts/test-cross.sh.
# Target programs (tests, catch_discover_tests) run under qemu-user (qemu-aarch64).
# Libraries of the target architecture installed through Debian
# multiarch (e.g. libcurl4-openssl-dev:arm64) are found in /usr/lib/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# The target's libc and libstdc++ come from Debian multiarch (libc6:arm64, libstdc++6:arm64),
# not from the cross sysroot: under qemu 7.2, programs loaded with
# "-L /usr/aarch64-linux-gnu" (the cross libc) crash in pthread_create and cannot
# exec host programs (the emulator).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

# Programs from the host; libraries from the cross sysroot and the multiarch folder of the target
# (never the host's x86_64 folders); headers and CMake packages
# from both (nlohmann/json and Catch2 are header-only and architecture-independent).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
