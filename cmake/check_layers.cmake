# The layering check (run by the nasd_layers target of every build):
#   cmake -DROOT=<source dir> -P cmake/check_layers.cmake
# Each folder of the request path may include headers of its own folder and
# of the folders it builds on (LAYER_<folder>, transitively); an include of
# any other project header (one that goes up a layer, or sideways to a
# peer) fails with the file, the line and the rule.  tests/ and bench/ may
# include anything.
#
cmake_policy(VERSION 3.25)

# The layers, lowest first (docs/architecture.md, "Folders"):
set(FOLDERS
  pool storage protocol
  server/exports server/pipeline server/transport server/locking server/portmap
  server/nfs3 server/nfs4/state server/nfs4 server/admin server)
set(LAYER_pool "")
set(LAYER_storage pool)
set(LAYER_protocol storage pool)
set(LAYER_server/exports protocol)
set(LAYER_server/pipeline server/exports)
set(LAYER_server/transport server/pipeline)
set(LAYER_server/locking server/transport)
set(LAYER_server/portmap server/transport)
set(LAYER_server/nfs3 server/pipeline)
set(LAYER_server/nfs4/state server/locking)
set(LAYER_server/nfs4 server/nfs4/state server/transport)
set(LAYER_server/admin server/locking)
set(LAYER_server server/admin server/nfs4 server/nfs3 server/portmap)

if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: -DROOT=<source dir> is required")
endif()

# The folder a project path belongs to: the longest listed prefix.
function(folder_of path out)
  set(best "")
  foreach(f ${FOLDERS})
    string(LENGTH "${f}/" n)
    string(SUBSTRING "${path}" 0 ${n} head)
    string(LENGTH "${best}" bn)
    if(head STREQUAL "${f}/" AND n GREATER bn)
      set(best "${f}")
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# Transitive closure of what each folder may include.
foreach(f ${FOLDERS})
  set(todo ${LAYER_${f}})
  set(seen "${f}")
  while(todo)
    list(POP_FRONT todo g)
    if(NOT g IN_LIST seen)
      list(APPEND seen ${g})
      list(APPEND todo ${LAYER_${g}})
    endif()
  endwhile()
  set(ALLOWED_${f} ${seen})
endforeach()

set(errors 0)
foreach(top pool storage protocol server)
  file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/${top}/*.h ${ROOT}/${top}/*.cc)
  foreach(file ${files})
    folder_of("${file}" from)
    file(STRINGS ${ROOT}/${file} lines REGEX "^#include \"[^\"]+\"")
    foreach(line ${lines})
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" inc "${line}")
      folder_of("${inc}" to)
      if(to STREQUAL "")
        continue()  # not a project header
      endif()
      if(NOT to IN_LIST ALLOWED_${from})
        message(SEND_ERROR "${file}: #include \"${inc}\": ${from}/ may not include ${to}/ "
                           "(it builds on: ${LAYER_${from}})")
        math(EXPR errors "${errors} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(errors GREATER 0)
  message(FATAL_ERROR "${errors} include(s) go up or across a layer (cmake/check_layers.cmake)")
endif()
