#include "approxtune/runtime/hpvm.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

std::optional<int> hpvm_op::knob_id() const noexcept {
  int v = 0;
  const char* end = knob.data() + knob.size();
  const auto [p, ec] = std::from_chars(knob.data(), end, v);
  if (knob.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

namespace {

// Blanks separate fields: space, tab, and the other ASCII whitespace controls (\r, \v, \f). A
// line ending in "\r\r" (a file converted to CRLF twice) must not leave a '\r' inside its last
// field, where it would be invisible in every message.
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits on blanks; no empty tokens.
std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    const std::size_t b = i;
    while (i < line.size() && !blank(line[i])) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

// Long fields are cut in messages, so a binary file gives a readable error.
std::string shown(std::string_view s) {
  constexpr std::size_t max = 40;
  std::string out = "'";
  for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (s.size() > max ? "...'" : "'");
}

class parser {
 public:
  parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  hpvm_file run() {
    hpvm_file f;
    std::string_view line;
    if (!next_nonblank(line)) fail("empty file (expected the target time on the first line)");
    const auto first = tokens(line);
    if (first.size() != 1)
      fail("the first line must hold only the target time, found " + std::to_string(first.size()) +
           " fields");
    f.target_time = number(first[0], "target time");
    std::set<std::string, std::less<>> names;
    while (next_nonblank(line)) {
      const auto t = tokens(line);
      if (t.size() != 1 || t[0] != "+++++")
        fail("expected '+++++' to open a configuration block, found " + shown(line));
      const std::size_t open_line = line_no_;
      hpvm_config c = header();
      if (!names.insert(c.name).second) fail("duplicate configuration name " + shown(c.name));
      bool closed = false;
      while (next(line)) {
        const auto nt = tokens(line);
        if (nt.size() == 1 && nt[0] == "-----") {
          closed = true;
          break;
        }
        c.nodes.push_back(node(nt, c.nodes.size() + 1));
      }
      if (!closed)
        fail("configuration " + shown(c.name) + " opened at line " + std::to_string(open_line) +
             " is not closed by '-----' before the end of the file");
      f.configs.push_back(std::move(c));
    }
    if (f.configs.empty()) fail("no configuration block ('+++++' ... '-----') after the target time");
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw config_error(source_ + ":" + std::to_string(line_no_) + ": " + what);
  }

  // The next line (without '\n' and a trailing '\r'); false at the end of the text.
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const std::size_t nl = text_.find('\n', pos_);
    const std::size_t end = nl == std::string_view::npos ? text_.size() : nl;
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    ++line_no_;
    return true;
  }

  bool next_nonblank(std::string_view& line) {
    while (next(line))
      if (!tokens(line).empty()) return true;
    return false;
  }

  double number(std::string_view tok, const char* what) const {
    double v = 0.0;
    const char* end = tok.data() + tok.size();
    const auto [p, ec] = std::from_chars(tok.data(), end, v);
    if (ec != std::errc() || p != end) fail(std::string(what) + " " + shown(tok) + " is not a number");
    if (!std::isfinite(v)) fail(std::string(what) + " " + shown(tok) + " is not finite");
    return v;
  }

  hpvm_config header() {
    std::string_view line;
    if (!next(line)) fail("'+++++' at the end of the file: expected a configuration header");
    const auto t = tokens(line);
    if (t.size() != 5)
      fail("configuration header must be '<name> <speedup> <energy> <qos> <qos loss>', found " +
           std::to_string(t.size()) + " fields in " + shown(line));
    hpvm_config c;
    c.name = std::string(t[0]);
    c.speedup = number(t[1], "speedup");
    c.energy = number(t[2], "energy");
    c.qos = number(t[3], "QoS");
    c.qos_loss = number(t[4], "QoS loss");
    if (!(c.speedup > 0.0)) fail("speedup " + shown(t[1]) + " must be > 0");
    return c;
  }

  hpvm_node node(const std::vector<std::string_view>& t, std::size_t want) const {
    if (t.empty()) fail("empty line inside a configuration block (expected a node line or '-----')");
    if (t.size() < 4)
      fail("node line needs '<index> <device>' and at least one '<op> <knob>' pair, found " +
           std::to_string(t.size()) + " fields");
    hpvm_node n;
    const char* end = t[0].data() + t[0].size();
    const auto [p, ec] = std::from_chars(t[0].data(), end, n.index);
    if (ec != std::errc() || p != end)
      fail("node index " + shown(t[0]) + " is not a non-negative integer");
    if (n.index != want)
      fail("node index " + std::to_string(n.index) + " out of order (expected " + std::to_string(want) + ")");
    n.device = std::string(t[1]);
    const std::size_t rest = t.size() - 2;
    if (rest == 2) {
      n.ops.push_back(hpvm_op{std::string(t[2]), std::string(), std::string(t[3])});
    } else if (rest % 3 == 0) {
      for (std::size_t i = 2; i < t.size(); i += 3)
        n.ops.push_back(hpvm_op{std::string(t[i]), std::string(t[i + 1]), std::string(t[i + 2])});
    } else {
      fail("node " + std::to_string(want) + ": " + std::to_string(rest) +
           " fields after the device; expected '<op> <approximation> <knob>' triples or one "
           "'<op> <knob>' pair");
    }
    return n;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t line_no_ = 0;
};

}  // namespace

hpvm_file parse_hpvm_configs(std::string_view text, const std::string& source) {
  return parser(text, source).run();
}

hpvm_file read_hpvm_configs(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw config_error("HPVM configuration file '" + file.string() + "' is a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error("cannot open HPVM configuration file '" + file.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw config_error("cannot read HPVM configuration file '" + file.string() + "'");
  return parse_hpvm_configs(ss.str(), file.string());
}

}  // namespace approxtune
