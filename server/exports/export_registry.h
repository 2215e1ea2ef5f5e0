// ExportRegistry: the live export table, shared by the pipeline stages and
// replaceable as a whole (a reload swaps in a new table; calls in flight keep
// the one they started with).
#pragma once

#include <atomic>
#include <memory>

#include "server/exports/exports.h"

namespace nasd::server {

/// Thread-safe holder of the current ExportTable.
class ExportRegistry {
 public:
  explicit ExportRegistry(ExportTable table)
      : table_(std::make_shared<const ExportTable>(std::move(table))) {}

  /// The current table; stays valid while the returned pointer is held.
  std::shared_ptr<const ExportTable> current() const { return table_.load(); }

  /// Replaces the table atomically.
  void replace(ExportTable table) {
    table_.store(std::make_shared<const ExportTable>(std::move(table)));
  }

 private:
  std::atomic<std::shared_ptr<const ExportTable>> table_;
};

}  // namespace nasd::server
