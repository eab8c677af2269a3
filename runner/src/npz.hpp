// NumPy .npz archives: read the job's inputs (np.savez: stored zip entries, zip64 headers)
// and write outputs.npz that the host opens with np.load. No compression either way.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace runner {

// One array: NumPy dtype descr ("<f4", "<i8", "|b1", ...), C-order shape, raw little-endian bytes.
struct Array {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  int64_t size() const;  // number of elements
  size_t itemsize() const;
};

// Every array of the archive, in archive order; the ".npy" suffix is dropped from names.
std::vector<std::pair<std::string, Array>> read_npz(const std::string& path);

// An archive numpy.load reads (stored entries, CRC-32 checked by zipfile).
void write_npz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays);

// .npy bytes of one array (format 1.0, or 2.0 when the header outgrows 65535 bytes).
std::vector<uint8_t> npy_bytes(const Array& a);
Array parse_npy(const uint8_t* p, size_t n, const std::string& where);

size_t descr_itemsize(const std::string& descr);

}  // namespace runner
