// Literature tableaux. Fractions are written as in the sources; DOP853's coefficients are Hairer's decimals.
#include "trk/tableau/named_tableaux.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>

namespace trk {
namespace {

ButcherTableau finish(ButcherTableau t) {
  if (t.c.size() == 0) t.c = t.A.rowwise().sum();
  validate_or_throw(t, 1e-14);
  return t;
}

// Euler (1768): z_next = z + h f(z).
ButcherTableau euler() {
  ButcherTableau t;
  t.name = "euler";
  t.A = Mat::Zero(1, 1);
  t.b = Vec::Ones(1);
  t.order = 1;
  t.citation = "L. Euler, Institutionum calculi integralis (1768); Hairer-Norsett-Wanner I, Sec. II.1";
  return finish(t);
}

// Explicit midpoint (Runge 1895).
ButcherTableau midpoint() {
  ButcherTableau t;
  t.name = "midpoint";
  t.A = Mat::Zero(2, 2);
  t.A(1, 0) = 1.0 / 2;
  t.b = Vec(2);
  t.b << 0, 1;
  t.order = 2;
  t.citation = "C. Runge, Math. Ann. 46 (1895); Hairer-Norsett-Wanner I, Table II.1.1";
  return finish(t);
}

// Heun's method (explicit trapezoid), order 2.
ButcherTableau heun() {
  ButcherTableau t;
  t.name = "heun";
  t.A = Mat::Zero(2, 2);
  t.A(1, 0) = 1;
  t.b = Vec(2);
  t.b << 1.0 / 2, 1.0 / 2;
  t.order = 2;
  t.citation = "K. Heun, Z. Math. Phys. 45 (1900); Butcher, Numerical Methods for ODEs (2016), Sec. 23";
  return finish(t);
}

// Kutta's third-order method (1901).
ButcherTableau kutta3() {
  ButcherTableau t;
  t.name = "kutta3";
  t.A = Mat::Zero(3, 3);
  t.A(1, 0) = 1.0 / 2;
  t.A(2, 0) = -1;
  t.A(2, 1) = 2;
  t.b = Vec(3);
  t.b << 1.0 / 6, 2.0 / 3, 1.0 / 6;
  t.order = 3;
  t.citation = "W. Kutta, Z. Math. Phys. 46 (1901); Hairer-Norsett-Wanner I, Table II.1.1";
  return finish(t);
}

// Classical Runge-Kutta method of order 4 (Kutta 1901).
ButcherTableau rk4() {
  ButcherTableau t;
  t.name = "rk4";
  t.A = Mat::Zero(4, 4);
  t.A(1, 0) = 1.0 / 2;
  t.A(2, 1) = 1.0 / 2;
  t.A(3, 2) = 1;
  t.b = Vec(4);
  t.b << 1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6;
  t.order = 4;
  t.citation = "W. Kutta, Z. Math. Phys. 46 (1901); Hairer-Norsett-Wanner I, Table II.1.2 (left)";
  return finish(t);
}

// Kutta's 3/8 rule, order 4.
ButcherTableau rk38() {
  ButcherTableau t;
  t.name = "rk38";
  t.A = Mat::Zero(4, 4);
  t.A(1, 0) = 1.0 / 3;
  t.A(2, 0) = -1.0 / 3;
  t.A(2, 1) = 1;
  t.A(3, 0) = 1;
  t.A(3, 1) = -1;
  t.A(3, 2) = 1;
  t.b = Vec(4);
  t.b << 1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8;
  t.order = 4;
  t.citation = "W. Kutta, Z. Math. Phys. 46 (1901); Hairer-Norsett-Wanner I, Table II.1.2 (right)";
  return finish(t);
}

// Dormand-Prince 5(4), 7 stages (FSAL).
ButcherTableau dopri5() {
  ButcherTableau t;
  t.name = "dopri5";
  t.A = Mat::Zero(7, 7);
  t.A(1, 0) = 1.0 / 5;
  t.A(2, 0) = 3.0 / 40;
  t.A(2, 1) = 9.0 / 40;
  t.A(3, 0) = 44.0 / 45;
  t.A(3, 1) = -56.0 / 15;
  t.A(3, 2) = 32.0 / 9;
  t.A(4, 0) = 19372.0 / 6561;
  t.A(4, 1) = -25360.0 / 2187;
  t.A(4, 2) = 64448.0 / 6561;
  t.A(4, 3) = -212.0 / 729;
  t.A(5, 0) = 9017.0 / 3168;
  t.A(5, 1) = -355.0 / 33;
  t.A(5, 2) = 46732.0 / 5247;
  t.A(5, 3) = 49.0 / 176;
  t.A(5, 4) = -5103.0 / 18656;
  t.A(6, 0) = 35.0 / 384;
  t.A(6, 2) = 500.0 / 1113;
  t.A(6, 3) = 125.0 / 192;
  t.A(6, 4) = -2187.0 / 6784;
  t.A(6, 5) = 11.0 / 84;
  t.b = Vec(7);
  t.b << 35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0;
  Vec b_hat(7);
  b_hat << 5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40;
  t.error_weights = t.b - b_hat;
  t.order = 5;
  t.embedded_order = 4;
  t.citation = "J. R. Dormand, P. J. Prince, J. Comput. Appl. Math. 6 (1980); Hairer-Norsett-Wanner I, Table II.5.2";
  return finish(t);
}

// Prince & Dormand RK8(7)13M: 13 stages, order 8 with an embedded order-7 solution; the coefficients are the
// paper's rational approximations. This is torchdiffeq's "dopri8", the adaptive baseline of the trainable-solver
// paper, and the scheme whose stability intervals docs/method.md tabulates (5.166634 real, 0 imaginary).
ButcherTableau dopri8() {
  ButcherTableau t;
  t.name = "dopri8";
  const double a[12][12] = {
      {1.0 / 18},
      {1.0 / 48, 1.0 / 16},
      {1.0 / 32, 0, 3.0 / 32},
      {5.0 / 16, 0, -75.0 / 64, 75.0 / 64},
      {3.0 / 80, 0, 0, 3.0 / 16, 3.0 / 20},
      {29443841.0 / 614563906, 0, 0, 77736538.0 / 692538347, -28693883.0 / 1125000000, 23124283.0 / 1800000000},
      {16016141.0 / 946692911, 0, 0, 61564180.0 / 158732637, 22789713.0 / 633445777, 545815736.0 / 2771057229,
       -180193667.0 / 1043307555},
      {39632708.0 / 573591083, 0, 0, -433636366.0 / 683701615, -421739975.0 / 2616292301, 100302831.0 / 723423059,
       790204164.0 / 839813087, 800635310.0 / 3783071287},
      {246121993.0 / 1340847787, 0, 0, -37695042795.0 / 15268766246, -309121744.0 / 1061227803,
       -12992083.0 / 490766935, 6005943493.0 / 2108947869, 393006217.0 / 1396673457, 123872331.0 / 1001029789},
      {-1028468189.0 / 846180014, 0, 0, 8478235783.0 / 508512852, 1311729495.0 / 1432422823,
       -10304129995.0 / 1701304382, -48777925059.0 / 3047939560, 15336726248.0 / 1032824649,
       -45442868181.0 / 3398467696, 3065993473.0 / 597172653},
      {185892177.0 / 718116043, 0, 0, -3185094517.0 / 667107341, -477755414.0 / 1098053517,
       -703635378.0 / 230739211, 5731566787.0 / 1027545527, 5232866602.0 / 850066563, -4093664535.0 / 808688257,
       3962137247.0 / 1805957418, 65686358.0 / 487910083},
      {403863854.0 / 491063109, 0, 0, -5068492393.0 / 434740067, -411421997.0 / 543043805, 652783627.0 / 914296604,
       11173962825.0 / 925320556, -13158990841.0 / 6184727034, 3936647629.0 / 1978049680, -160528059.0 / 685178525,
       248638103.0 / 1413531060, 0}};
  t.A = Mat::Zero(13, 13);
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j <= i; ++j) t.A(i + 1, j) = a[i][j];
  t.b = Vec(13);
  t.b << 14005451.0 / 335480064, 0, 0, 0, 0, -59238493.0 / 1068277825, 181606767.0 / 758867731,
      561292985.0 / 797845732, -1041891430.0 / 1371343529, 760417239.0 / 1151165299, 118820643.0 / 751138087,
      -528747749.0 / 2220607170, 1.0 / 4;
  Vec b_hat(13);
  b_hat << 13451932.0 / 455176623, 0, 0, 0, 0, -808719846.0 / 976000145, 1757004468.0 / 5645159321,
      656045339.0 / 265891186, -3867574721.0 / 1518517206, 465885868.0 / 322736535, 53011238.0 / 667516719,
      2.0 / 45, 0;
  t.error_weights = t.b - b_hat;
  t.order = 8;
  t.embedded_order = 7;
  t.citation = "P. J. Prince, J. R. Dormand, J. Comput. Appl. Math. 7 (1981) 67-75, RK8(7)13M; "
               "the \"dopri8\" of torchdiffeq";
  t.c = t.A.rowwise().sum();
  validate_or_throw(t, 1e-12);
  return t;
}

// DOP853: Dormand-Prince 8(5,3), 12 stages, Hairer's coefficients (dop853.f, Hairer-Norsett-Wanner I, Sec. II.10).
ButcherTableau dop853() {
  ButcherTableau t;
  t.name = "dop853";
  Mat& A = t.A;
  A = Mat::Zero(12, 12);
  A(1, 0) = 5.26001519587677318785587544488e-2;
  A(2, 0) = 1.97250569845378994544595329183e-2;
  A(2, 1) = 5.91751709536136983633785987549e-2;
  A(3, 0) = 2.95875854768068491816892993775e-2;
  A(3, 2) = 8.87627564304205475450678981324e-2;
  A(4, 0) = 2.41365134159266685502369798665e-1;
  A(4, 2) = -8.84549479328286085344864962717e-1;
  A(4, 3) = 9.24834003261792003115737966543e-1;
  A(5, 0) = 3.7037037037037037037037037037e-2;
  A(5, 3) = 1.70828608729473871279604482173e-1;
  A(5, 4) = 1.25467687566822425016691814123e-1;
  A(6, 0) = 3.7109375e-2;
  A(6, 3) = 1.70252211019544039314978060272e-1;
  A(6, 4) = 6.02165389804559606850219397283e-2;
  A(6, 5) = -1.7578125e-2;
  A(7, 0) = 3.70920001185047927108779319836e-2;
  A(7, 3) = 1.70383925712239993810214054705e-1;
  A(7, 4) = 1.07262030446373284651809199168e-1;
  A(7, 5) = -1.53194377486244017527936158236e-2;
  A(7, 6) = 8.27378916381402288758473766002e-3;
  A(8, 0) = 6.24110958716075717114429577812e-1;
  A(8, 3) = -3.36089262944694129406857109825;
  A(8, 4) = -8.68219346841726006818189891453e-1;
  A(8, 5) = 2.75920996994467083049415600797e1;
  A(8, 6) = 2.01540675504778934086186788979e1;
  A(8, 7) = -4.34898841810699588477366255144e1;
  A(9, 0) = 4.77662536438264365890433908527e-1;
  A(9, 3) = -2.48811461997166764192642586468;
  A(9, 4) = -5.90290826836842996371446475743e-1;
  A(9, 5) = 2.12300514481811942347288949897e1;
  A(9, 6) = 1.52792336328824235832596922938e1;
  A(9, 7) = -3.32882109689848629194453265587e1;
  A(9, 8) = -2.03312017085086261358222928593e-2;
  A(10, 0) = -9.3714243008598732571704021658e-1;
  A(10, 3) = 5.18637242884406370830023853209;
  A(10, 4) = 1.09143734899672957818500254654;
  A(10, 5) = -8.14978701074692612513997267357;
  A(10, 6) = -1.85200656599969598641566180701e1;
  A(10, 7) = 2.27394870993505042818970056734e1;
  A(10, 8) = 2.49360555267965238987089396762;
  A(10, 9) = -3.0467644718982195003823669022;
  A(11, 0) = 2.27331014751653820792359768449;
  A(11, 3) = -1.05344954667372501984066689879e1;
  A(11, 4) = -2.00087205822486249909675718444;
  A(11, 5) = -1.79589318631187989172765950534e1;
  A(11, 6) = 2.79488845294199600508499808837e1;
  A(11, 7) = -2.85899827713502369474065508674;
  A(11, 8) = -8.87285693353062954433549289258;
  A(11, 9) = 1.23605671757943030647266201528e1;
  A(11, 10) = 6.43392746015763530355970484046e-1;
  t.b = Vec::Zero(12);
  t.b(0) = 5.42937341165687622380535766363e-2;
  t.b(5) = 4.45031289275240888144113950566;
  t.b(6) = 1.89151789931450038304281599044;
  t.b(7) = -5.8012039600105847814672114227;
  t.b(8) = 3.1116436695781989440891606237e-1;
  t.b(9) = -1.52160949662516078556178806805e-1;
  t.b(10) = 2.01365400804030348374776537501e-1;
  t.b(11) = 4.47106157277725905176885569043e-2;
  // Fifth-order estimate: Hairer's er1, er6..er12.
  Vec e5 = Vec::Zero(12);
  e5(0) = 0.1312004499419488073250102996e-1;
  e5(5) = -0.1225156446376204440720569753e1;
  e5(6) = -0.4957589496572501915214079952;
  e5(7) = 0.1664377182454986536961530415e1;
  e5(8) = -0.3503288487499736816886487290;
  e5(9) = 0.3341791187130174790297318841;
  e5(10) = 0.8192320648511571246570742613e-1;
  e5(11) = -0.2235530786388629525884427845e-1;
  // Third-order estimate: b - (bhh1 on k1, bhh2 on k9, bhh3 on k12).
  Vec e3 = t.b;
  e3(0) -= 0.244094488188976377952755905512;
  e3(8) -= 0.733846688281611857341361741547;
  e3(11) -= 0.220588235294117647058823529412e-1;
  t.error_weights = e5;
  t.secondary_error_weights = e3;
  t.order = 8;
  t.embedded_order = 5;
  t.citation = "J. R. Dormand, P. J. Prince, J. Comput. Appl. Math. 7 (1981); E. Hairer, S. P. Norsett, "
               "G. Wanner, Solving ODEs I, 2nd ed. (1993), Sec. II.10, code DOP853";
  ButcherTableau out = t;
  out.c = A.rowwise().sum();
  validate_or_throw(out, 1e-12);
  return out;
}

// Chebyshev polynomials T_j and their first two derivatives at x, j = 0..s (three-term recurrences).
struct ChebyshevValues {
  Vec T, dT, d2T;
};
ChebyshevValues chebyshev_values(int s, double x) {
  ChebyshevValues v{Vec::Zero(s + 1), Vec::Zero(s + 1), Vec::Zero(s + 1)};
  v.T(0) = 1;
  if (s >= 1) {
    v.T(1) = x;
    v.dT(1) = 1;
  }
  for (int j = 2; j <= s; ++j) {
    v.T(j) = 2 * x * v.T(j - 1) - v.T(j - 2);
    v.dT(j) = 2 * v.T(j - 1) + 2 * x * v.dT(j - 1) - v.dT(j - 2);
    v.d2T(j) = 4 * v.dT(j - 1) + 2 * x * v.d2T(j - 1) - v.d2T(j - 2);
  }
  return v;
}

}  // namespace

// The RKC recurrence, stage values Y_j = y + h sum_i alpha_{j,i} k_i with k_i = f(Y_{i-1}):
//   Y_0 = y,  Y_1 = y + mut_1 h f(Y_0),
//   Y_j = (1 - mu_j - nu_j) y + mu_j Y_{j-1} + nu_j Y_{j-2} + mut_j h f(Y_{j-1}) + gat_j h f(Y_0),  j = 2..s,
// so alpha_j = mu_j alpha_{j-1} + nu_j alpha_{j-2} + mut_j e_j + gat_j e_1, row i of A is alpha_{i-1}, b = alpha_s.
// With w0 = 1 + eps / s^2 and coefficients beta_j (b_j in the papers):
//   mu_j = 2 w0 beta_j / beta_{j-1},  nu_j = -beta_j / beta_{j-2},  mut_j = 2 w1 beta_j / beta_{j-1},
//   order 1: beta_j = 1 / T_j(w0), w1 = T_s(w0) / T_s'(w0), mut_1 = w1 / w0, gat_j = 0;
//            R(z) = T_s(w0 + w1 z) / T_s(w0);
//   order 2: beta_j = T_j''(w0) / T_j'(w0)^2 (j >= 2), beta_0 = beta_1 = beta_2, w1 = T_s'(w0) / T_s''(w0),
//            mut_1 = beta_1 w1, gat_j = -(1 - beta_{j-1} T_{j-1}(w0)) mut_j;
//            R(z) = 1 - beta_s T_s(w0) + beta_s T_s(w0 + w1 z).
ButcherTableau rkc_tableau(int order, int stages, double damping) {
  const int s = stages;
  if (order != 1 && order != 2) throw std::invalid_argument("RKC: order must be 1 or 2");
  if (s < order || s > kMaxRkcStages)
    throw std::invalid_argument("RKC" + std::to_string(order) + ": stages must be in " + std::to_string(order) +
                                ".." + std::to_string(kMaxRkcStages));
  if (!(damping >= 0) || !std::isfinite(damping)) throw std::invalid_argument("RKC: damping must be >= 0");
  const double w0 = 1 + damping / (static_cast<double>(s) * s);
  const ChebyshevValues ch = chebyshev_values(s, w0);
  Vec beta(s + 1);
  double w1 = 0;
  if (order == 1) {
    for (int j = 0; j <= s; ++j) beta(j) = 1 / ch.T(j);
    w1 = ch.T(s) / ch.dT(s);
  } else {
    for (int j = 2; j <= s; ++j) beta(j) = ch.d2T(j) / (ch.dT(j) * ch.dT(j));
    beta(0) = beta(1) = beta(2);
    w1 = ch.dT(s) / ch.d2T(s);
  }
  Mat alpha = Mat::Zero(s + 1, s);  // row j: alpha_j
  alpha(1, 0) = order == 1 ? w1 / w0 : beta(1) * w1;
  for (int j = 2; j <= s; ++j) {
    const double mu = 2 * w0 * beta(j) / beta(j - 1), nu = -beta(j) / beta(j - 2);
    const double mut = 2 * w1 * beta(j) / beta(j - 1);
    alpha.row(j) = mu * alpha.row(j - 1) + nu * alpha.row(j - 2);
    alpha(j, j - 1) += mut;
    if (order == 2) alpha(j, 0) += -(1 - beta(j - 1) * ch.T(j - 1)) * mut;
  }
  ButcherTableau t;
  t.name = "rkc" + std::to_string(order) + "_" + std::to_string(s);
  t.A = alpha.topRows(s);
  t.b = alpha.row(s).transpose();
  t.order = order;
  t.citation = order == 1
                   ? "J. G. Verwer, W. H. Hundsdorfer, B. P. Sommeijer, Numer. Math. 57 (1990) 157-178 (damped "
                     "first-order Chebyshev scheme); B. P. Sommeijer, L. F. Shampine, J. G. Verwer, J. Comput. "
                     "Appl. Math. 88 (1998) 315-326"
                   : "B. P. Sommeijer, L. F. Shampine, J. G. Verwer, J. Comput. Appl. Math. 88 (1998) 315-326 "
                     "(RKC); J. G. Verwer, W. H. Hundsdorfer, B. P. Sommeijer, Numer. Math. 57 (1990) 157-178";
  t.c = t.A.rowwise().sum();
  validate_or_throw(t, 1e-10);
  return t;
}

namespace {

// "rkc1_S" / "rkc2_S" with 1 <= S <= kMaxRkcStages (2 <= S for order 2): the order and the stage count, else 0.
std::pair<int, int> parse_rkc_name(std::string_view name) {
  if (name.size() < 6 || name.substr(0, 3) != "rkc" || name[4] != '_' || (name[3] != '1' && name[3] != '2'))
    return {0, 0};
  const int order = name[3] - '0';
  const std::string_view digits = name.substr(5);
  if (digits.front() == '0') return {0, 0};
  int s = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), s);
  if (ec != std::errc() || end != digits.data() + digits.size() || s < order || s > kMaxRkcStages) return {0, 0};
  return {order, s};
}

// The registry, in the order names are listed: adding a tableau is its function above and one entry here.
const std::vector<std::pair<std::string, ButcherTableau (*)()>>& registry() {
  static const std::vector<std::pair<std::string, ButcherTableau (*)()>> r = {
      {"euler", euler}, {"midpoint", midpoint}, {"heun", heun},     {"kutta3", kutta3}, {"rk4", rk4},
      {"rk38", rk38},   {"dopri5", dopri5},     {"dopri8", dopri8}, {"dop853", dop853}};
  return r;
}

}  // namespace

std::vector<std::string> named_tableau_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
  return names;
}

bool is_named_tableau(std::string_view name) {
  for (const auto& [n, make] : registry())
    if (n == name) return true;
  return parse_rkc_name(name).first != 0;
}

ButcherTableau named_tableau(std::string_view name) {
  for (const auto& [n, make] : registry())
    if (n == name) return make();
  if (const auto [order, s] = parse_rkc_name(name); order == 1) return rkc_tableau(1, s, kRkc1Damping);
  if (const auto [order, s] = parse_rkc_name(name); order == 2) return rkc_tableau(2, s, kRkc2Damping);
  std::string known;
  for (const auto& n : named_tableau_names()) known += (known.empty() ? "" : ", ") + n;
  known += ", rkc1_S, rkc2_S (S stages, 1.." + std::to_string(kMaxRkcStages) + ")";
  throw std::invalid_argument("unknown scheme '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace trk
