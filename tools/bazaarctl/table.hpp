#pragma once

/// An aligned text table: columns as wide as their widest cell, two spaces apart.

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace bazaar::ctl {

class table {
 public:
  explicit table(std::vector<std::string> header) : header_(std::move(header)) {}

  void add(std::vector<std::string> row) {
    row.resize(header_.size());
    rows_.push_back(std::move(row));
  }

  bool empty() const { return rows_.empty(); }

  void print(std::ostream& out) const {
    std::vector<std::size_t> width(header_.size());
    for (std::size_t i = 0; i < header_.size(); ++i) {
      width[i] = header_[i].size();
      for (const auto& r : rows_)
        width[i] = std::max(width[i], r[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (std::size_t i = 0; i < cells.size(); ++i) {
        text += cells[i];
        if (i + 1 < cells.size())
          text += std::string(width[i] - cells[i].size() + 2, ' ');
      }
      out << text << '\n';
    };
    line(header_);
    for (const auto& r : rows_)
      line(r);
  }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

} // namespace bazaar::ctl
