// Autonomous vector field dz/dt = f_theta(z), evaluated on a batch of states (dim x n, one column per state).
//   eval:  F = f(Z)
//   vjp:   given U = dL/dF (dim x n):  Z_bar += (df/dz)^T U  column by column,
//          theta_bar += sum over columns of (df/dtheta)^T U   (when theta_bar is given)
// A network's vjp needs the activations of its forward pass: vjp recomputes them from Z, while eval_saving keeps
// them (FieldActivations) for vjp_saved, which gives the same result as vjp bit for bit without recomputing.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "trk/core/types.h"

namespace trk {

// What eval_saving keeps for vjp_saved; opaque to the solvers. Empty: nothing kept (vjp_saved recomputes).
// The matrices come from, and go back to (clear, destruction), a pool of the calling thread: tapes made and dropped
// at every training iteration then reuse the same memory instead of allocating (and faulting in) megabytes each time.
struct FieldActivations {
  std::vector<Mat> saved;
  Eigen::Index num_states = 0;

  FieldActivations() = default;
  FieldActivations(const FieldActivations&) = default;
  FieldActivations(FieldActivations&&) = default;
  FieldActivations& operator=(const FieldActivations&) = default;
  FieldActivations& operator=(FieldActivations&&) = default;
  ~FieldActivations() { clear(); }

  bool empty() const { return saved.empty(); }
  // count entries: the first ones kept, the others returned to the pool, new ones empty. Call it before at(), whose
  // references (and blocks of them) must not outlive a change of the number of entries.
  void resize(std::size_t count);
  // saved[i] (i < saved.size()), rows x cols: taken from the pool unless it has that shape already.
  Mat& at(std::size_t i, Eigen::Index rows, Eigen::Index cols);
  void clear() { resize(0); }
};

class VectorField {
 public:
  virtual ~VectorField() = default;
  virtual std::string name() const = 0;
  virtual int dim() const = 0;
  virtual int num_params() const { return 0; }
  virtual Vec params() const { return Vec(); }
  virtual void set_params(const ConstVecRef& theta) {}

  virtual void eval(const ConstMatRef& Z, MatRef F) const = 0;
  virtual void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const = 0;

  // Doubles per state that eval_saving keeps (0: nothing; eval_saving is eval and vjp_saved is vjp).
  virtual Eigen::Index activation_size() const { return 0; }
  // eval, keeping the activations in act (or leaving act empty).
  virtual void eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) const {
    act.saved.clear();
    eval(Z, F);
  }
  // vjp at Z given act from eval_saving at the same Z and parameters (empty act: recomputes, as vjp).
  virtual void vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                         Vec* theta_bar) const {
    vjp(Z, U, Z_bar, theta_bar);
  }

  // df/dz at one state (dim x dim), by default from vjp with unit cotangents.
  virtual Mat jacobian(const ConstVecRef& z) const;

  // Forward mode, state by state: F = f(Z) and, for state s (column s of Z) and component i, the gradient of
  // f_i at that state with respect to z in column dim s + i of Gz (dim x dim n) and with respect to theta in
  // column dim s + i of Gtheta (num_params x dim n). Fields that provide it say so by has_gradients(); the
  // others leave the outputs untouched.
  virtual bool has_gradients() const { return false; }
  virtual void eval_gradients(const ConstMatRef& Z, MatRef F, MatRef Gz, MatRef Gtheta) const {}
  virtual std::unique_ptr<VectorField> clone() const = 0;
};

// The one place NFE is counted: solvers evaluate f only through a CountedField. One call on a batch is one
// function evaluation (every state of the batch is evaluated at the same stage).
class CountedField {
 public:
  explicit CountedField(const VectorField& f) : f_(f) {}
  const VectorField& field() const { return f_; }
  int dim() const { return f_.dim(); }
  void eval(const ConstMatRef& Z, MatRef F) {
    ++num_evaluations_;
    f_.eval(Z, F);
  }
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) {
    ++num_vjp_evaluations_;
    f_.vjp(Z, U, Z_bar, theta_bar);
  }
  void eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) {
    ++num_evaluations_;
    f_.eval_saving(Z, F, act);
  }
  void vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                 Vec* theta_bar) {
    ++num_vjp_evaluations_;
    f_.vjp_saved(Z, act, U, Z_bar, theta_bar);
  }
  long num_evaluations() const { return num_evaluations_; }
  long num_vjp_evaluations() const { return num_vjp_evaluations_; }

 private:
  const VectorField& f_;
  long num_evaluations_ = 0;
  long num_vjp_evaluations_ = 0;
};

}  // namespace trk
