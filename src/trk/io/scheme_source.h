// The tableau a `trk report stability|order --scheme SPEC` analyses. SPEC is one of
//   a built-in name                    rk4, dopri8, ... (named_tableaux.h)
//   a JSON tableau file                {"A": [[...]], "b": [...], "c": [...]} (c optional: row sums)
//   a model.h5 of trk identify         its scheme (euler, rk4, a trained trkQ; dopri8 and sr: the dopri8 pair)
//   an identify.json                   its "tableau" (fixed-step solvers only)
//   a fit.json and a row selector      fit.json#h=0.17 (the trained scheme of that step) or
//                                      fit.json#h=0.17,scheme=rk4; without a selector only a one-row file
// The tableau is named after its source ("trk10 h=0.2 (model.h5)", ...). Throws std::runtime_error with a
// one-line message naming the file and what was expected (for a fit.json, the selectors it offers).
#pragma once
#include <string>

#include "trk/tableau/butcher_tableau.h"

namespace trk::io {

ButcherTableau resolve_scheme_source(const std::string& spec);

}  // namespace trk::io
