# Turns families.rules into families_rules.c (the built-in client family
# rules, docs/observe.md): the text as a byte array, so that nothing in it
# needs escaping. Run by the custom command in CMakeLists.txt:
#   cmake -DIN=families.rules -DOUT=families_rules.c -P embed_rules.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " body "${body}")
file(WRITE "${OUT}.tmp"
  "/* Generated from families.rules by embed_rules.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const char pqt_obs_builtin_rules[];\n"
  "extern const size_t pqt_obs_builtin_rules_len;\n"
  "const char pqt_obs_builtin_rules[] = {\n    ${body}0};\n"
  "const size_t pqt_obs_builtin_rules_len = ${bytes};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
