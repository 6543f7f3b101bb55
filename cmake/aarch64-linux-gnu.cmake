# Cross build for 64-bit Arm (Debian multiarch: the arm64 libraries in /usr/lib/aarch64-linux-gnu), the tests run
# under qemu-aarch64. Used by scripts/test.sh's aarch64 stage: the code paths without x86 intrinsics, built and run.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc-12)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++-12)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
