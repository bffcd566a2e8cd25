// Composition of explicit schemes: two steps of h/2 of a q'-stage scheme (A', b') as one step of h of a
// q-stage scheme (q >= 2 q'; stages beyond 2 q' are zero):
//   A = [A'/2 0; 1 b'^T/2 A'/2],  b = [b'; b'] / 2,  c = row sums of A.
// identify's continuation trains a half-step scheme and starts the main phase from its composition.
#pragma once
#include "trk/tableau/butcher_tableau.h"

namespace trk {

ButcherTableau two_half_steps(const ButcherTableau& half, int q);

// m steps of h/m of a q'-stage scheme as one step of h of an (m q')-stage scheme: block lower-triangular A with
// A'/m on the diagonal blocks and 1 b'^T/m below them, b = [b'; ...; b'] / m.
ButcherTableau substeps(const ButcherTableau& t, int m);

}  // namespace trk
