# cmake -DIN=x.spv -DOUT=x.c -DNAME=x -P EmbedSpirv.cmake: writes the words of a SPIR-V file as a C array.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR nbytes "${n} / 2")
math(EXPR rem "${nbytes} % 4")
if(NOT rem EQUAL 0)
  message(FATAL_ERROR "${IN}: size ${nbytes} is not a multiple of 4")
endif()
# little-endian 32-bit words
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])" "0x\\4\\3\\2\\1u," words "${hex}")
file(WRITE ${OUT} "/* generated from ${NAME}.comp: do not edit */\n#include <stddef.h>\n#include <stdint.h>\nconst uint32_t tlv__spv_${NAME}[] = {${words}};\nconst size_t tlv__spv_${NAME}_size = ${nbytes};\n")
