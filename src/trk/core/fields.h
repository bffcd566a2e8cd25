// One declaration per options struct (fastText's Args, Ceres's Options): a function
//   template <class V> void visit_fields(XOptions& o, V&& v) { v(Field{"key", "help"}, o.member); ... }
// lists every field once, in order. The I/O layer reads config keys with it (unknown keys refused, every number
// range-checked as the type it is read into) and echoes the configuration; the CLI declares its flags with it
// (--key with '_' as '-'); a checkpoint is resumed only under the same echo. Nothing else spells a key.
#pragma once

namespace trk {

struct Field {
  const char* key;
  const char* help;
  bool echoed = true;  // false: no effect on the numbers (threads, logging): left out of the echo
  const char* alias = nullptr;  // a second flag name (--alias), if any; the config key is `key` only
};

}  // namespace trk
