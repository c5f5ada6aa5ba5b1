# SPDX-License-Identifier: Apache-2.0
# tw_cil_embedded(OUT): configures compiler/cil_embedded.cpp.in into the current binary directory
# with selinux-module/'s minimal base and token interfaces built in (the SELinux backend's check),
# reconfiguring when they change; sets OUT to the generated source.
function(tw_cil_embedded out)
  set(root ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  foreach(pair "CHECK_BASE;check-base.cil" "CHECK_BPF_TOKEN;check-bpf-token.cil" "DELEGATION_TOKEN;delegation-token.cil")
    list(GET pair 0 var)
    list(GET pair 1 file)
    file(READ ${root}/selinux-module/${file} TW_CIL_${var})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${root}/selinux-module/${file})
  endforeach()
  configure_file(${root}/compiler/cil_embedded.cpp.in ${CMAKE_CURRENT_BINARY_DIR}/cil_embedded.cpp @ONLY)
  set(${out} ${CMAKE_CURRENT_BINARY_DIR}/cil_embedded.cpp PARENT_SCOPE)
endfunction()
