// The documents of trk identify, each with its reader beside its writer:
//   DIR/identify.json: the row the report reads (system, h, solver, model, rmse {t0+h, t0+4h}, diverged, nfe,
//     iterations, train_seconds, final_loss, status, tableau (fixed-step solvers), sr_coefficients (sr),
//     test_states, data; climatological_std of the training data, rmse_normalised = rmse / it, persistence
//     {rmse, rmse_normalised} on the same test states; noise: the std of the training data's observation noise,
//     when its generator recorded one) and the configuration echo;
//   DIR/model.h5: everything needed to evaluate the learned flow map again (solver, model, its options and
//     parameters, scheme, h, tolerances), the training histories, the row and the configuration.
#pragma once
#include <filesystem>
#include <string>

#include "trk/experiment/identify.h"
#include "trk/io/json_io.h"

namespace trk::io {

// The configuration echo of a run: the solver and every echoed field of IdentifyOptions, by its config key.
json identify_configuration(const IdentifyOptions& o);

json identify_to_json(const IdentifySummary& s, const Dataset& data, const std::string& data_path);
// model.h5, then identify.json (row + configuration), each written atomically.
void write_identify_results(const std::filesystem::path& dir, const IdentifySummary& s, const Dataset& data,
                            const std::string& data_path, const json& configuration);
// identify.json for a model evaluated on other data (--evaluate): training fields taken from the model's row;
// `inference` the flow map evaluated (the model's own, or its field stepped by an inference solver,
// experiment/inference.h): "inference" {solver, substeps; rtol, atol and step_control of an adaptive one}, and
// nfe.inference_per_step (per unit time: over its h) of it.
void write_evaluation_json(const std::filesystem::path& path, const json& trained_row, const EvaluateSummary& e,
                           const FlowMap& inference, const Dataset& data, const std::string& data_path,
                           const std::string& model_path);

void write_model_h5(const std::filesystem::path& path, const IdentifySummary& s, const json& row,
                    const json& configuration);

struct LoadedModel {
  FlowMap flow_map;
  json row;  // the identify.json row stored with the model
};
// Throws std::runtime_error naming the file and field on anything unexpected.
LoadedModel read_model_h5(const std::filesystem::path& path);

// identify.json as written above; throws std::runtime_error naming the file on one that is not.
json read_identify_json(const std::filesystem::path& path);

}  // namespace trk::io
