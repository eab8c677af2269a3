#include "npz.hpp"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace runner {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return static_cast<uint32_t>(u16(p)) | (static_cast<uint32_t>(u16(p + 2)) << 16); }
uint64_t u64(const uint8_t* p) { return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xff));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v & 0xffff));
  put16(b, static_cast<uint16_t>(v >> 16));
}

uint32_t crc32(const uint8_t* p, size_t n) {
  static uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The value of 'key' in a .npy header dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".
std::string header_field(const std::string& h, const std::string& key, const std::string& where) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) fail(where, "npy header lacks '" + key + "': " + h);
  size_t colon = h.find(':', k);
  if (colon == std::string::npos) fail(where, "bad npy header: " + h);
  size_t s = h.find_first_not_of(' ', colon + 1);
  if (s == std::string::npos) fail(where, "bad npy header: " + h);
  if (h[s] == '\'') {
    size_t e = h.find('\'', s + 1);
    if (e == std::string::npos) fail(where, "bad npy header: " + h);
    return h.substr(s + 1, e - s - 1);
  }
  if (h[s] == '(') {
    size_t e = h.find(')', s);
    if (e == std::string::npos) fail(where, "bad npy header: " + h);
    return h.substr(s + 1, e - s - 1);
  }
  size_t e = h.find_first_of(",}", s);
  return h.substr(s, e - s);
}

}  // namespace

size_t descr_itemsize(const std::string& descr) {
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    throw std::runtime_error("unsupported array dtype '" + descr + "' (little-endian numeric arrays only)");
  }
  const char kind = descr[1];
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
    throw std::runtime_error("unsupported array dtype '" + descr + "' (numeric or bool arrays only)");
  }
  return static_cast<size_t>(std::stoul(descr.substr(2)));
}

int64_t Array::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t Array::itemsize() const { return descr_itemsize(descr); }

Array parse_npy(const uint8_t* p, size_t n, const std::string& where) {
  static const char magic[] = "\x93NUMPY";
  if (n < 10 || std::memcmp(p, magic, 6) != 0) fail(where, "not a .npy array");
  const uint8_t major = p[6];
  size_t hlen = 0, start = 0;
  if (major == 1) {
    hlen = u16(p + 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail(where, "truncated .npy header");
    hlen = u32(p + 8);
    start = 12;
  } else {
    fail(where, "unknown .npy format version " + std::to_string(major));
  }
  if (start + hlen > n) fail(where, "truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(p + start), hlen);
  Array a;
  a.descr = header_field(header, "descr", where);
  if (header_field(header, "fortran_order", where).find("False") == std::string::npos) {
    fail(where, "Fortran-ordered arrays are not supported");
  }
  std::stringstream dims(header_field(header, "shape", where));
  std::string item;
  while (std::getline(dims, item, ',')) {
    size_t s = item.find_first_not_of(' ');
    if (s == std::string::npos) continue;
    a.shape.push_back(std::stoll(item.substr(s)));
  }
  const size_t bytes = static_cast<size_t>(a.size()) * a.itemsize();
  const size_t data_at = start + hlen;
  if (data_at + bytes > n) fail(where, "array data is shorter than its shape says");
  a.data.assign(p + data_at, p + data_at + bytes);
  return a;
}

std::vector<uint8_t> npy_bytes(const Array& a) {
  std::string shape;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    shape += std::to_string(a.shape[i]);
    if (i + 1 < a.shape.size() || a.shape.size() == 1) shape += ",";
    if (i + 1 < a.shape.size()) shape += " ";
  }
  std::string header = "{'descr': '" + a.descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  const bool v2 = header.size() + 11 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out;
  out.reserve(prefix + header.size() + a.data.size());
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  for (uint8_t c : magic) out.push_back(c);
  out.push_back(v2 ? 2 : 1);
  out.push_back(0);
  if (v2) {
    put32(out, static_cast<uint32_t>(header.size()));
  } else {
    put16(out, static_cast<uint16_t>(header.size()));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

std::vector<std::pair<std::string, Array>> read_npz(const std::string& path) {
  const std::vector<uint8_t> z = slurp(path);
  const size_t n = z.size();
  // End of central directory: the last "PK\5\6" within the trailing 64 KiB comment window.
  if (n < 22) fail(path, "not a zip archive (.npz)");
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 22 + 65535;) {
    if (u32(&z[i]) == 0x06054b50u) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) fail(path, "not a zip archive (.npz): no end of central directory");
  uint64_t entries = u16(&z[eocd + 10]);
  uint64_t cd_offset = u32(&z[eocd + 16]);
  if ((entries == 0xffff || cd_offset == 0xffffffffu) && eocd >= 20 && u32(&z[eocd - 20]) == 0x07064b50u) {
    const uint64_t z64 = u64(&z[eocd - 20 + 8]);
    if (z64 + 56 > n || u32(&z[z64]) != 0x06064b50u) fail(path, "bad zip64 end of central directory");
    entries = u64(&z[z64 + 32]);
    cd_offset = u64(&z[z64 + 48]);
  }
  std::vector<std::pair<std::string, Array>> out;
  size_t p = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > n || u32(&z[p]) != 0x02014b50u) fail(path, "corrupt zip central directory");
    const uint16_t method = u16(&z[p + 10]);
    uint64_t csize = u32(&z[p + 20]);
    uint64_t usize = u32(&z[p + 24]);
    const uint16_t name_len = u16(&z[p + 28]);
    const uint16_t extra_len = u16(&z[p + 30]);
    const uint16_t comment_len = u16(&z[p + 32]);
    uint64_t local = u32(&z[p + 42]);
    if (p + 46 + name_len + extra_len > n) fail(path, "corrupt zip central directory");
    std::string name(reinterpret_cast<const char*>(&z[p + 46]), name_len);
    // zip64 extended information: the fields that are 0xffffffff above, in order.
    for (size_t x = p + 46 + name_len; x + 4 <= p + 46 + name_len + extra_len;) {
      const uint16_t id = u16(&z[x]);
      const uint16_t len = u16(&z[x + 2]);
      if (id == 0x0001) {
        size_t q = x + 4;
        if (usize == 0xffffffffu) { usize = u64(&z[q]); q += 8; }
        if (csize == 0xffffffffu) { csize = u64(&z[q]); q += 8; }
        if (local == 0xffffffffu) { local = u64(&z[q]); q += 8; }
      }
      x += 4 + len;
    }
    if (method != 0) {
      fail(path, "entry '" + name + "' is compressed (method " + std::to_string(method) +
                     "); the runner reads np.savez archives, not np.savez_compressed");
    }
    if (local + 30 > n || u32(&z[local]) != 0x04034b50u) fail(path, "corrupt zip local header for '" + name + "'");
    const size_t data = local + 30 + u16(&z[local + 26]) + u16(&z[local + 28]);
    if (data + csize > n) fail(path, "entry '" + name + "' runs past the end of the archive");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(&z[data], static_cast<size_t>(csize), path + ":" + name));
    p += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays) {
  std::vector<uint8_t> body, central;
  uint16_t count = 0;
  for (const auto& kv : arrays) {
    const std::string name = kv.first + ".npy";
    const std::vector<uint8_t> npy = npy_bytes(kv.second);
    if (body.size() + npy.size() > 0xfffffff0u) throw std::runtime_error("outputs exceed 4 GiB: not written");
    const uint32_t crc = crc32(npy.data(), npy.size());
    const uint32_t offset = static_cast<uint32_t>(body.size());
    // local file header
    put32(body, 0x04034b50u);
    put16(body, 20);
    put16(body, 0);
    put16(body, 0);  // stored
    put16(body, 0);
    put16(body, 0x21);  // 1980-01-01
    put32(body, crc);
    put32(body, static_cast<uint32_t>(npy.size()));
    put32(body, static_cast<uint32_t>(npy.size()));
    put16(body, static_cast<uint16_t>(name.size()));
    put16(body, 0);
    body.insert(body.end(), name.begin(), name.end());
    body.insert(body.end(), npy.begin(), npy.end());
    // central directory entry
    put32(central, 0x02014b50u);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(npy.size()));
    put32(central, static_cast<uint32_t>(npy.size()));
    put16(central, static_cast<uint16_t>(name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central.insert(central.end(), name.begin(), name.end());
    ++count;
  }
  std::vector<uint8_t> end;
  put32(end, 0x06054b50u);
  put16(end, 0);
  put16(end, 0);
  put16(end, count);
  put16(end, count);
  put32(end, static_cast<uint32_t>(central.size()));
  put32(end, static_cast<uint32_t>(body.size()));
  put16(end, 0);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error(path + ": cannot write");
  f.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  f.write(reinterpret_cast<const char*>(central.data()), static_cast<std::streamsize>(central.size()));
  f.write(reinterpret_cast<const char*>(end.data()), static_cast<std::streamsize>(end.size()));
  if (!f) throw std::runtime_error(path + ": write failed");
}

}  // namespace runner
