#include "trk/report/check.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "trk/io/json_io.h"
#include "trk/report/tables.h"

namespace trk::report {

namespace {

using V = CheckLine::Verdict;

std::string identify_cell(const IdentifyResult& r, int k) {
  return fmt::format("{} {} {} h={} {}{}", r.system, r.model, r.solver, format_step(r.h), k == 1 ? "t0+h" : "t0+4h",
                     r.dataset.empty() ? "" : " dataset " + r.dataset);
}

std::string fit_cell(const FitResult& r) { return fmt::format("fit {} {} h={}", r.system, r.scheme, format_step(r.h)); }

std::string verdict_text(const FitResult& r) {
  return fmt::format("{} {}/{}", r.integrates ? "yes" : "no", r.bounded_runs, r.runs);
}

CheckLine compare_forecast(const std::string& cell, const Forecast& base, const Forecast& cur, const CheckOptions& o) {
  CheckLine l{cell, format_forecast(base), format_forecast(cur)};
  const bool base_div = base.diverged || !base.rmse, cur_div = cur.diverged || !cur.rmse;
  if (base_div && cur_div) {
    l.verdict = V::kSame;
  } else if (base_div) {
    l.verdict = V::kBetter;
  } else if (cur_div) {
    l.verdict = V::kWorse;
  } else {
    const double b = *base.rmse, c = *cur.rmse;
    l.relative_change = b > 0 ? c / b - 1 : (c > 0 ? INFINITY : 0.0);
    // Tables show 3 digits; print more when the change is below that.
    if (c != b) {
      l.baseline = fmt::format("{:.6g}", b);
      l.current = fmt::format("{:.6g}", c);
    }
    if (c == b) l.verdict = V::kSame;
    else if (c > b * (1 + o.rtol) + o.atol) l.verdict = V::kWorse;
    else if (c < b * (1 - o.rtol) - o.atol) l.verdict = V::kBetter;
    else l.verdict = V::kWithinTolerance;
  }
  return l;
}

const char* verdict_name(V v) {
  switch (v) {
    case V::kSame: return "same";
    case V::kWithinTolerance: return "within tolerance";
    case V::kBetter: return "better";
    case V::kWorse: return "WORSE";
    case V::kMissing: return "MISSING";
    case V::kNew: return "new";
  }
  return "?";
}

}  // namespace

int CheckReport::regressions() const {
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [](const CheckLine& l) {
    return l.verdict == V::kWorse || l.verdict == V::kMissing;
  }));
}

std::string CheckReport::text(bool verbose) const {
  std::map<V, int> count;
  size_t width = 4;
  for (const auto& l : lines) {
    ++count[l.verdict];
    width = std::max(width, l.cell.size());
  }
  std::string out;
  for (const auto& l : lines) {
    if (!verbose && (l.verdict == V::kSame || l.verdict == V::kWithinTolerance)) continue;
    std::string change;
    if (l.relative_change != 0.0 && std::isfinite(l.relative_change))
      change = fmt::format(" ({:+.2f}%)", 100 * l.relative_change);
    out += fmt::format("{:<{}}  {:>10} -> {:<10} {}{}\n", l.cell, width, l.baseline.empty() ? "-" : l.baseline,
                       l.current.empty() ? "-" : l.current, verdict_name(l.verdict), change);
  }
  out += fmt::format(
      "{} cells compared: {} same, {} within tolerance, {} better, {} worse, {} missing, {} new -> {}\n",
      lines.size(), count[V::kSame], count[V::kWithinTolerance], count[V::kBetter], count[V::kWorse],
      count[V::kMissing], count[V::kNew], regressions() ? "REGRESSION" : "ok");
  return out;
}

CheckReport check_results(const Results& baseline, const Results& current, const CheckOptions& o) {
  CheckReport rep;
  auto ikey = [](const IdentifyResult& r) { return std::make_tuple(r.system, r.model, r.solver, r.h, r.dataset); };
  auto fkey = [](const FitResult& r) { return std::make_tuple(r.system, r.scheme, r.h); };
  std::set<std::tuple<std::string, std::string, std::string, double, std::string>> seen_i;
  std::set<std::tuple<std::string, std::string, double>> seen_f;
  for (const auto& b : baseline.identify) {
    seen_i.insert(ikey(b));
    const IdentifyResult* c = nullptr;
    for (const auto& x : current.identify)
      if (ikey(x) == ikey(b)) c = &x;
    for (int k : {1, 4}) {
      const Forecast& bf = k == 1 ? b.at_h : b.at_4h;
      if (!c) {
        rep.lines.push_back({identify_cell(b, k), format_forecast(bf), "", V::kMissing});
        continue;
      }
      rep.lines.push_back(compare_forecast(identify_cell(b, k), bf, k == 1 ? c->at_h : c->at_4h, o));
    }
  }
  for (const auto& b : baseline.fit) {
    seen_f.insert(fkey(b));
    const FitResult* c = nullptr;
    for (const auto& x : current.fit)
      if (fkey(x) == fkey(b)) c = &x;
    if (!c) {
      rep.lines.push_back({fit_cell(b), verdict_text(b), "", V::kMissing});
      continue;
    }
    CheckLine l{fit_cell(b), verdict_text(b), verdict_text(*c)};
    if (b.integrates && !c->integrates) l.verdict = V::kWorse;
    else if (!b.integrates && c->integrates) l.verdict = V::kBetter;
    else l.verdict = b.bounded_runs == c->bounded_runs ? V::kSame : V::kWithinTolerance;
    rep.lines.push_back(l);
  }
  for (const auto& c : current.identify)
    if (!seen_i.count(ikey(c)))
      for (int k : {1, 4})
        rep.lines.push_back({identify_cell(c, k), "", format_forecast(k == 1 ? c.at_h : c.at_4h), V::kNew});
  for (const auto& c : current.fit)
    if (!seen_f.count(fkey(c))) rep.lines.push_back({fit_cell(c), "", verdict_text(c), V::kNew});
  return rep;
}

}  // namespace trk::report
