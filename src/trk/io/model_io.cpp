#include "trk/io/model_io.h"
#include "trk/core/number_text.h"

#include <cmath>

#include "trk/field/polynomial.h"
#include "trk/io/atomic_file.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/memory_limit.h"
#include "trk/io/options_io.h"

namespace trk::io {

namespace {

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

double mean(const std::vector<long>& v) {
  if (v.empty()) return 0.0;
  double s = 0;
  for (long x : v) s += x;
  return s / v.size();
}

json scores(const ForecastScore& at_h, const ForecastScore& at_4h, double scale = 1.0) {
  return {{"t0+h", number_or_null(at_h.rmse / scale)}, {"t0+4h", number_or_null(at_4h.rmse / scale)}};
}

// The observation noise of a dataset from its generator record (trk generate --noise, a config's generate.noise,
// or the source of a split); 0 when it records none.
double recorded_noise(const Dataset& data) {
  const json g = json::parse(data.generator_json, nullptr, false);
  for (const json* at : {&g, g.is_object() && g.contains("source_generator") ? &g["source_generator"] : nullptr})
    if (at && at->is_object() && at->contains("noise") && (*at)["noise"].is_number()) return (*at)["noise"].get<double>();
  return 0.0;
}

// The evaluation's scale-free part: sigma, the RMSEs over sigma and the persistence floor (flow_map.h).
void add_normalised(json& row, const EvaluateSummary& e, double sigma) {
  row["climatological_std"] = number_or_null(sigma);
  row["rmse_normalised"] = scores(e.at_h, e.at_4h, sigma);
  row["persistence"] = {{"rmse", scores(e.persistence_at_h, e.persistence_at_4h)},
                        {"rmse_normalised", scores(e.persistence_at_h, e.persistence_at_4h, sigma)}};
}

}  // namespace

// [{"phase", "iterations", "seconds", "stop"}, ...] in the order the phases ran.
json phases_to_json(const std::vector<PhaseRecord>& phases) {
  json out = json::array();
  for (const PhaseRecord& p : phases)
    out.push_back({{"phase", to_string(p.phase)}, {"iterations", p.iterations}, {"seconds", p.seconds},
                   {"stop", to_string(p.stop)}});
  return out;
}

json identify_configuration(const IdentifyOptions& o) {
  json j = fields_to_json(o);
  j["solver"] = o.solver;
  return j;
}

json identify_to_json(const IdentifySummary& s, const Dataset& data, const std::string& data_path) {
  const FlowMap& psi = s.flow_map;
  const EvaluateSummary& e = s.evaluation;
  json row = {{"format", "trk-identify"},
              {"format_version", 2},
              {"system", data.system},
              {"h", psi.h},
              {"solver", psi.solver.name},
              {"model", psi.model},
              {"rmse", {{"t0+h", number_or_null(e.at_h.rmse)}, {"t0+4h", number_or_null(e.at_4h.rmse)}}},
              {"rmse_mean_per_state",
               {{"t0+h", number_or_null(e.at_h.mean_state_rmse)}, {"t0+4h", number_or_null(e.at_4h.mean_state_rmse)}}},
              {"diverged", {{"t0+h", e.at_h.diverged}, {"t0+4h", e.at_4h.diverged}}},
              {"test_states", e.num_states},
              {"nfe",
               {{"train_forward_per_iteration",
                 {{"mean", mean(s.nfe_forward_history)},
                  {"last", s.nfe_forward_history.empty() ? 0 : s.nfe_forward_history.back()}}},
                {"train_backward_per_iteration",
                 {{"mean", mean(s.nfe_backward_history)},
                  {"last", s.nfe_backward_history.empty() ? 0 : s.nfe_backward_history.back()}}},
                {"inference_per_step", e.inference_nfe_per_step},
                {"inference_per_unit_time", e.inference_nfe_per_step / psi.h}}},
              {"iterations", s.iterations},
              {"train_seconds", s.train_seconds},
              {"final_loss", {{"train", number_or_null(s.train_loss)}, {"validation", number_or_null(s.validation_loss)}}},
              {"validation",
               {{"pairs", s.validation_pairs},
                {"rmse", {{"t0+h", number_or_null(s.validation.at_h.rmse)},
                          {"t0+4h", number_or_null(s.validation.at_4h.rmse)}}},
                {"held_out", s.validation_held_out},
                {"persistence_loss", number_or_null(s.persistence_loss)}}},
              {"restarts", {{"chosen", s.start}, {"validation_losses", s.restart_losses},
                            {"screening_seconds", s.screening_seconds}}},
              {"phases", phases_to_json(s.phases)},
              {"train_pairs", s.train_pairs},
              {"refit", {{"done", s.refit.done}, {"kept", s.refit.kept}, {"score", number_or_null(s.refit.score)},
                         {"selected_score", number_or_null(s.refit.selected_score)}, {"seconds", s.refit.seconds}}},
              {"status", to_string(s.status)},
              {"data", data_path}};
  add_normalised(row, e, climatological_std(data.train));
  if (const double noise = recorded_noise(data); noise > 0) row["noise"] = noise;
  if (!s.restart_losses.empty())
    for (auto& v : row["restarts"]["validation_losses"])
      if (!std::isfinite(v.get<double>())) v = nullptr;
  if (psi.solver.kind == SolverKind::kTrainable || psi.solver.kind == SolverKind::kFixed)
    row["tableau"] = {{"A", to_json(psi.tableau.A)}, {"b", to_json(psi.tableau.b)}, {"c", to_json(psi.tableau.c)}};
  if (s.sindy) {
    json coefficients = json::object();
    for (int i = 0; i < s.sindy->dim; ++i) {
      json terms = json::object();
      for (size_t k = 0; k < s.sindy->names.size(); ++k)
        if (s.sindy->Xi(k, i) != 0.0) terms[s.sindy->names[k]] = s.sindy->Xi(k, i);
      coefficients["dx" + std::to_string(i + 1) + "/dt"] = terms;
    }
    row["sr_coefficients"] = coefficients;
  }
  return row;
}

void write_identify_results(const std::filesystem::path& dir, const IdentifySummary& s, const Dataset& data,
                            const std::string& data_path, const json& configuration) {
  const json row = identify_to_json(s, data, data_path);
  ensure_writable_directory(dir);
  write_model_h5(dir / "model.h5", s, row, configuration);
  json full = row;
  full["configuration"] = configuration;
  write_json_atomic(dir / "identify.json", full);
}

void write_evaluation_json(const std::filesystem::path& path, const json& trained, const EvaluateSummary& e,
                           const FlowMap& inference, const Dataset& data, const std::string& data_path,
                           const std::string& model_path) {
  json row = trained;
  row["system"] = data.system;
  row["rmse"] = {{"t0+h", number_or_null(e.at_h.rmse)}, {"t0+4h", number_or_null(e.at_4h.rmse)}};
  row["rmse_mean_per_state"] = {{"t0+h", number_or_null(e.at_h.mean_state_rmse)},
                                {"t0+4h", number_or_null(e.at_4h.mean_state_rmse)}};
  row["diverged"] = {{"t0+h", e.at_h.diverged}, {"t0+4h", e.at_4h.diverged}};
  row["test_states"] = e.num_states;
  row["nfe"]["inference_per_step"] = e.inference_nfe_per_step;
  row["nfe"]["inference_per_unit_time"] = e.inference_nfe_per_step / inference.h;
  row["inference"] = {{"solver", inference.solver.name}, {"substeps", inference.substeps}};
  if (!inference.solver.fixed_step()) {
    row["inference"]["rtol"] = inference.adaptive.control.rtol;
    row["inference"]["atol"] = inference.adaptive.control.atol;
    row["inference"]["step_control"] = to_string(inference.adaptive.control.convention);
  }
  // sigma of the data evaluated on (its training split), else of the model's training data.
  const double sigma = climatological_std(data.train);
  add_normalised(row, e, sigma > 0 || !trained.contains("climatological_std") || !trained["climatological_std"].is_number()
                             ? sigma
                             : trained["climatological_std"].get<double>());
  if (const double noise = recorded_noise(data); noise > 0) row["noise"] = noise;
  else row.erase("noise");
  row["data"] = data_path;
  row["evaluated_model"] = model_path;
  write_json_atomic(path, row);
}

json read_identify_json(const std::filesystem::path& path) {
  const json j = read_json_file(path);
  if (!j.is_object() || (j.contains("format") && j["format"] != "trk-identify"))
    throw std::runtime_error(path.string() + ": format: expected \"trk-identify\" (an identify.json of trk identify)");
  return j;
}

void write_model_h5(const std::filesystem::path& path, const IdentifySummary& s, const json& row,
                    const json& configuration) {
  const FlowMap& psi = s.flow_map;
  h5::write_file_atomic(path, [&](h5::Group& root) {
    root.write_string_attribute("format", "trk-model");
    root.write_int_attribute("format_version", 1);
    root.write_string_attribute("solver", psi.solver.name);
    root.write_string_attribute("model", psi.model);
    root.write_double_attribute("h", psi.h);
    root.write_int_attribute("dim", psi.field->dim());
    json model_options = fields_to_json(psi.model_options);
    model_options["seed"] = psi.model_options.seed;
    root.write_string_attribute("model_options", model_options.dump());
    root.write_double_attribute("rtol", psi.adaptive.control.rtol);
    root.write_string_attribute("step_control", to_string(psi.adaptive.control.convention));
    root.write_double_attribute("atol", psi.adaptive.control.atol);
    root.write_string_attribute("row", row.dump());
    root.write_string_attribute("configuration", configuration.dump());
    root.write_vector("params", psi.field->params());
    root.write_matrix("A", psi.tableau.A);
    root.write_vector("b", psi.tableau.b);
    root.write_vector("c", psi.tableau.c);
    if (s.sindy) root.write_int_attribute("degree", s.sindy->degree);
    auto hist = root.create_group("history");
    hist.write_vector("loss", Eigen::Map<const Vec>(s.loss_history.data(), s.loss_history.size()));
    hist.write_vector("meet_loss", Eigen::Map<const Vec>(s.meet_loss_history.data(), s.meet_loss_history.size()));
    hist.write_vector("refine_loss", Eigen::Map<const Vec>(s.refine_loss_history.data(), s.refine_loss_history.size()));
    hist.write_vector("lm_loss", Eigen::Map<const Vec>(s.lm_loss_history.data(), s.lm_loss_history.size()));
    Vec nf(s.nfe_forward_history.size()), nb(s.nfe_backward_history.size());
    for (size_t i = 0; i < s.nfe_forward_history.size(); ++i) nf(i) = s.nfe_forward_history[i];
    for (size_t i = 0; i < s.nfe_backward_history.size(); ++i) nb(i) = s.nfe_backward_history[i];
    hist.write_vector("nfe_forward", nf);
    hist.write_vector("nfe_backward", nb);
  });
}

namespace {

// A dataset of the model file declares `expected` values (negative: any number up to kMaxTableauValues), and
// reading it and the model made from it (two copies) fits in memory_limit(); else refused naming the dataset.
constexpr double kMaxTableauValues = 1e6;
void check_declared(const h5::File& f, const char* name, double expected, const std::string& what) {
  const double declared = f.read_shape(name).count();
  if (expected >= 0 ? declared != expected : declared > kMaxTableauValues)
    throw std::runtime_error(f.where(name) + ": declares " + number_text(declared) + " values, expected " +
                             (expected >= 0 ? number_text(expected) + " " + what
                                            : "at most " + number_text(kMaxTableauValues)) +
                             " (a model.h5 of trk identify)");
  const double bytes = 2 * 8 * declared, limit = static_cast<double>(memory_limit());
  if (bytes > limit)
    throw std::runtime_error(f.where(name) + ": " + number_text(declared) + " values, " + format_bytes(bytes) +
                             " to read, more than the " + format_bytes(limit) + " of " + memory_limit_source());
}

// The coefficients of a polynomial field (field/polynomial.h) of `dim` variables up to `degree`: dim times the
// C(dim + degree, degree) monomials, by arithmetic (-1 for a dim or degree no field has).
double polynomial_num_params(int dim, int degree) {
  if (dim < 1 || degree < 0) return -1;
  double monomials = 1;
  for (int k = 1; k <= degree; ++k) monomials = monomials * (dim + k) / k;
  return std::round(monomials) * dim;
}

}  // namespace

LoadedModel read_model_h5(const std::filesystem::path& path) {
  h5::File f = h5::File::open_read(path);
  auto need_string = [&](const char* name) {
    auto v = f.read_string_attribute(name);
    if (!v) throw std::runtime_error(f.where_attribute(name) + ": missing");
    return *v;
  };
  auto need_double = [&](const char* name) {
    auto v = f.read_double_attribute(name);
    if (!v) throw std::runtime_error(f.where_attribute(name) + ": missing");
    return *v;
  };
  if (need_string("format") != "trk-model")
    throw std::runtime_error(f.where_attribute("format") + ": expected \"trk-model\" (a model.h5 of trk identify)");
  if (auto v = f.read_int_attribute("format_version"); !v || *v > 1)
    throw std::runtime_error(f.where_attribute("format_version") + ": expected 1");
  auto read_vec = [&](const char* name) {
    const h5::Array a = f.read_array(name);
    return Vec(Eigen::Map<const Vec>(a.values.data(), a.values.size()));
  };
  LoadedModel m;
  FlowMap& psi = m.flow_map;
  try {
    psi.solver = parse_solver(need_string("solver"));
    psi.model = need_string("model");
    psi.h = need_double("h");
    const int dim = static_cast<int>(need_double("dim"));
    if (!(psi.h > 0) || !std::isfinite(psi.h))
      throw std::runtime_error(f.where_attribute("h") + ": expected a finite step > 0 (a model.h5 of trk identify)");
    if (dim < 1) throw std::runtime_error(f.where_attribute("dim") + ": expected a dimension >= 1");
    json mo = json::parse(need_string("model_options"));
    if (!mo.is_object() || !mo.contains("seed") || !mo["seed"].is_number_unsigned())
      throw std::runtime_error(f.where_attribute("model_options") + ": seed: missing or not an integer (a model.h5 "
                               "of trk identify has it; write the model again with trk identify)");
    psi.model_options.seed = mo["seed"].get<std::uint64_t>();
    mo.erase("seed");
    read_fields(mo, path.string() + ": model_options", psi.model_options);
    m.row = json::parse(need_string("row"));
    // The arrays are checked against what the attributes say they hold before anything of their size is read or
    // made: a file of a few kB can declare 3e8 values, or model options of a model too large to hold.
    const double num_params =
        psi.solver.kind == SolverKind::kSparseRegression
            ? polynomial_num_params(dim, static_cast<int>(f.read_int_attribute("degree").value_or(2)))
            : model_num_params(psi.model, dim, psi.model_options);
    check_declared(f, "params", num_params, "values for this model");
    if (psi.solver.fixed_step()) {
      const double q = psi.solver.stages;
      for (const auto& [name, count] : {std::pair{"A", q * q}, std::pair{"b", q}, std::pair{"c", q}})
        check_declared(f, name, count, "values (the tableau of " + psi.solver.name + ")");
    } else {
      for (const char* name : {"A", "b", "c"}) check_declared(f, name, -1, "");
    }
    const Vec params = read_vec("params");
    // A model with a non-finite parameter forecasts nothing: refused rather than evaluated.
    for (Eigen::Index k = 0; k < params.size(); ++k)
      if (!std::isfinite(params(k)))
        throw std::runtime_error(f.where("params") + ": expected finite values, found " + number_text(params(k)) +
                                 " at index " + std::to_string(k) + " (train the model again)");
    if (psi.solver.kind == SolverKind::kSparseRegression) {
      const int degree = static_cast<int>(f.read_int_attribute("degree").value_or(2));
      auto poly = std::make_unique<PolynomialField>(dim, degree);
      poly->set_params(params);
      psi.field = std::move(poly);
    } else {
      psi.field = make_model(psi.model, dim, psi.model_options);
      if (params.size() != psi.field->num_params())
        throw std::runtime_error(f.where("params") + ": expected " + std::to_string(psi.field->num_params()) +
                                 " values for this model");
      psi.field->set_params(params);
    }
    psi.tableau.name = psi.solver.name;
    psi.tableau.A = f.read_matrix("A");
    psi.tableau.b = read_vec("b");
    psi.tableau.c = read_vec("c");
    if (!psi.tableau.A.allFinite() || !psi.tableau.b.allFinite() || !psi.tableau.c.allFinite())
      throw std::runtime_error(f.where("A") + ": the tableau (A, b, c) has a non-finite value (train the model again)");
    if (!psi.solver.fixed_step()) {
      psi.tableau = psi.solver.named();
      psi.adaptive.control.rtol = need_double("rtol");
      // Absent (written before it was stored): auto, and Hairer's for sr, as they were run.
      const std::string control = f.read_string_attribute("step_control").value_or(
          psi.solver.kind == SolverKind::kSparseRegression ? "hairer" : "auto");
      const auto convention = parse_step_control_convention(control);
      if (!convention) throw std::runtime_error(f.where_attribute("step_control") + ": unknown value '" + control + "'");
      psi.adaptive.control.convention = *convention;
      psi.adaptive.control.atol = need_double("atol");
      psi.adaptive.max_steps = 100000;
    } else if (auto err = psi.tableau.validation_error(1e-9); !err.empty()) {
      throw std::runtime_error(f.where("A") + ": " + err);
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(path.string() + ": model attributes: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  return m;
}

}  // namespace trk::io
