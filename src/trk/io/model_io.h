// Identification results: DIR/identify.json (the row the report reads) and DIR/model.h5 (everything needed to
// evaluate the learned flow map again: model name, options and parameters, scheme, h, histories, configuration).
#pragma once
#include <filesystem>
#include <string>

#include "trk/experiment/identify.h"
#include "trk/io/json_io.h"

namespace trk::io {

// identify.json: system, h, solver, model, rmse {t0+h, t0+4h}, diverged {t0+h, t0+4h}, nfe {...}, iterations,
// train_seconds, status, tableau (trk solvers), sr_coefficients (sr), test_states, data.
json identify_to_json(const IdentifySummary& s, const Dataset& data, const std::string& data_path);
// The same row for a model evaluated on other data (--evaluate): training fields taken from the model file.
json evaluation_to_json(const json& trained_row, const EvaluateSummary& e, const Dataset& data,
                        const std::string& data_path, const std::string& model_path);

void write_model_h5(const std::filesystem::path& path, const IdentifySummary& s, const json& row,
                    const json& configuration);

struct LoadedModel {
  FlowMap flow_map;
  json row;  // the identify.json row stored with the model
};
// Throws std::runtime_error naming the file and field on anything unexpected.
LoadedModel read_model_h5(const std::filesystem::path& path);

}  // namespace trk::io
