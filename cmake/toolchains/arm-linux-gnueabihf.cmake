# Cross build for arm-linux-gnueabihf with Debian's cross compiler (g++-arm-linux-gnueabihf); run with
# -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake, usually through scripts/test-cross.sh.
# Target programs (tests, catch_discover_tests) run under qemu-user (qemu-arm).
# Libraries of the target architecture installed through Debian
# multiarch (e.g. libcurl4-openssl-dev:armhf) are found in /usr/lib/arm-linux-gnueabihf.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# The target's libc and libstdc++ come from Debian multiarch (libc6:armhf, libstdc++6:armhf),
# not from the cross sysroot: under qemu 7.2, programs loaded with
# "-L /usr/arm-linux-gnueabihf" (the cross libc) crash in pthread_create and cannot
# exec host programs (the emulator).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm)
# GCC notes that the ABI of some parameters changed in GCC 7.1: true, and irrelevant here.
set(CMAKE_CXX_FLAGS_INIT -Wno-psabi)

# Programs from the host; libraries from the cross sysroot and the multiarch folder of the target
# (never the host's x86_64 folders); headers and CMake packages
# from both (nlohmann/json and Catch2 are header-only and architecture-independent).
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
