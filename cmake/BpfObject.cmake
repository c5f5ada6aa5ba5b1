# SPDX-License-Identifier: Apache-2.0
# bpf_object(NAME SOURCE [HEADERS h...])
#
# Compiles SOURCE (a *.bpf.c) with clang -target bpf -g -O2 into NAME.bpf.o, generates the
# libbpf skeleton NAME.skel.h with `bpftool gen skeleton`, and defines an INTERFACE target
# NAME_skel that puts the skeleton on the include path. Also defines TW_BPF_OBJECT_<NAME> as a
# cache-free variable holding the object path (for install rules).
#
# BPF programs are CO-RE: they see kernel-internal types only through the minimal
# preserve_access_index declarations in lsm-progs/include/tw_kernel_types.h and uapi types from
# linux-libc-dev (6.12 headers from bookworm-backports). Nothing depends on the build machine's
# running kernel (no vmlinux.h dump at build time); libbpf relocates field accesses against the
# target kernel's BTF at load time.
find_program(TW_BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(TW_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
set(TW_BPF_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR}/../lsm-progs/include)
# The ABI header and its tables (tw_abi.h, *.def), shared with C++.
set(TW_BPF_VOCAB_DIR ${CMAKE_CURRENT_LIST_DIR}/../vocab)

function(bpf_object name src)
  cmake_parse_arguments(ARG "" "" "HEADERS" ${ARGN})
  get_filename_component(src_abs ${src} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  file(GLOB common_headers ${TW_BPF_INCLUDE_DIR}/*.h ${TW_BPF_VOCAB_DIR}/tw_abi.h ${TW_BPF_VOCAB_DIR}/*.def)
  add_custom_command(
    OUTPUT ${obj}
    # -mcpu=v3: atomic fetch-and-add (every kernel with BPF tokens has it).
    # The prefix maps keep the build's paths out of the object's debug info, which the skeleton
    # embeds in the binary: the same source gives the same binary wherever it is built.
    COMMAND ${TW_BPF_CLANG} -target bpf -mcpu=v3 -g -O2 -Wall -Werror -D__TARGET_ARCH_x86
            -ffile-prefix-map=${PROJECT_BINARY_DIR}=build -ffile-prefix-map=${PROJECT_SOURCE_DIR}=.
            -I${TW_BPF_INCLUDE_DIR} -I${TW_BPF_VOCAB_DIR} -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -c ${src_abs} -o ${obj}
    DEPENDS ${src_abs} ${ARG_HEADERS} ${common_headers}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "\"${TW_BPFTOOL}\" gen skeleton \"${obj}\" name ${name} > \"${skel}.tmp\" && mv \"${skel}.tmp\" \"${skel}\""
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
  set(TW_BPF_OBJECT_${name} ${obj} PARENT_SCOPE)
endfunction()
