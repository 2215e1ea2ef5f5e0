#include "server/admin/reload.h"

#include <spdlog/spdlog.h>

namespace nasd::server {

ExportReloader::ExportReloader(const Options& options, ExportRegistry& registry,
                               RegisterFn register_export)
    : options_(options), registry_(registry), register_(std::move(register_export)) {
  for (const auto& e : registry_.current()->exports()) registered_[e.id] = e.path;
}

namespace {

// True when the export's client list or options differ (anything a client
// can observe besides its presence).
bool export_changed(const Export& a, const Export& b) {
  if (a.path != b.path || a.pseudo != b.pseudo || a.clients.size() != b.clients.size()) return true;
  for (std::size_t i = 0; i < a.clients.size(); ++i) {
    if (a.clients[i].text != b.clients[i].text || !(a.clients[i].options == b.clients[i].options)) {
      return true;
    }
  }
  return false;
}

}  // namespace

ReloadResult ExportReloader::reload() {
  ReloadResult r;
  auto loaded = load_exports(options_);
  if (auto* err = std::get_if<ExportsError>(&loaded)) {
    r.message = err->to_string();
    return r;
  }
  ExportTable& table = std::get<ExportTable>(loaded);

  // Refuse before touching the backend: an id that now names another path.
  for (const auto& e : table.exports()) {
    auto it = registered_.find(e.id);
    if (it != registered_.end() && it->second != e.path) {
      r.message = "export id " + std::to_string(e.id) + " is " + it->second + ", not " + e.path +
                  " (moving an export id to another path needs a restart)";
      return r;
    }
  }
  for (const auto& e : table.exports()) {
    if (registered_.count(e.id)) continue;
    if (auto s = register_(e.id, e.path); s != storage::Status::kOk) {
      r.message = "cannot export " + e.path + ": " + storage::status_name(s);
      return r;
    }
    registered_[e.id] = e.path;
  }

  auto old = registry_.current();
  for (const auto& e : table.exports()) {
    const Export* before = old->find_by_id(e.id);
    if (before == nullptr) {
      ++r.added;
    } else if (export_changed(*before, e)) {
      ++r.changed;
    }
  }
  for (const auto& e : old->exports()) {
    if (table.find_by_id(e.id) == nullptr) ++r.removed;
  }
  r.total = static_cast<unsigned>(table.exports().size());
  registry_.replace(std::move(table));
  r.ok = true;
  r.message = std::to_string(r.total) + " export(s): " + std::to_string(r.added) + " added, " +
              std::to_string(r.removed) + " removed, " + std::to_string(r.changed) + " changed";
  return r;
}

ReloadResult ExportReloader::reload_and_log() {
  ReloadResult r = reload();
  if (r.ok) {
    spdlog::info("reload: {}", r.message);
  } else {
    spdlog::error("reload rejected, keeping the {} current export(s): {}",
                  registry_.current()->exports().size(), r.message);
  }
  return r;
}

}  // namespace nasd::server
