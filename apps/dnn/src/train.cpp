#include "approxtune/dnn/train.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "approxtune/dnn/error.hpp"

namespace approxtune::dnn {

using kernels::shape4;

namespace {

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
          int ldc, float beta = 0.0f) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
              lda, b, ldb, beta, c, ldc);
}

// Portable normal deviate from a mt19937_64 (Box-Muller on 53-bit uniforms).
double normal(std::mt19937_64& rng) {
  auto u = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  const double u1 = u(), u2 = u();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

struct trainer::impl {
  model& m;
  train_options o;
  int n = 0;  // current batch
  std::vector<std::vector<float>> act, grad;   // per layer, [C, N, H, W]
  std::vector<std::vector<float>> cols;        // conv: im2col; dense: gathered input
  std::vector<std::vector<int>> argmax;        // max_pool
  std::vector<std::vector<float>> xhat, invstd;  // batch_norm
  std::vector<float> input;                    // batch input in [C, N, H, W]
  std::vector<float> dcol;
  // gradients and Adam state, parallel to params()
  std::vector<std::vector<float>*> params;
  std::vector<bool> decay;
  std::vector<std::vector<float>> grads, m1, m2;
  long step = 0;
  std::vector<float> probs;

  impl(model& mm, train_options oo) : m(mm), o(std::move(oo)) {
    if (m.layers().back().type != layer_type::softmax)
      throw model_error("trainer: the model's last layer must be softmax (cross-entropy loss)");
    for (auto& l : m.mutable_layers()) {
      if (l.tunable()) {
        params.push_back(&l.weights);
        decay.push_back(true);
        if (l.has_bias) {
          params.push_back(&l.bias);
          decay.push_back(false);
        }
      } else if (l.type == layer_type::batch_norm) {
        params.push_back(&l.gamma);
        decay.push_back(false);
        params.push_back(&l.beta);
        decay.push_back(false);
      }
    }
    for (auto* p : params) {
      grads.emplace_back(p->size(), 0.0f);
      m1.emplace_back(p->size(), 0.0f);
      m2.emplace_back(p->size(), 0.0f);
    }
    const auto L = m.layers().size();
    act.resize(L);
    grad.resize(L);
    cols.resize(L);
    argmax.resize(L);
    xhat.resize(L);
    invstd.resize(L);
  }

  std::size_t grad_index(const layer* target, int which) {  // which: 0 weight/gamma, 1 bias/beta
    std::size_t g = 0;
    for (const auto& l : m.layers()) {
      if (&l == target) return g + static_cast<std::size_t>(which);
      if (l.tunable()) g += l.has_bias ? 2 : 1;
      else if (l.type == layer_type::batch_norm) g += 2;
    }
    return g;
  }

  const std::vector<float>& in_act(int idx) { return idx < 0 ? input : act[static_cast<std::size_t>(idx)]; }

  void load_input(const float* images, int nb) {
    n = nb;
    const shape4 s = m.input_shape();
    const std::size_t hw = s.plane_size();
    input.resize(static_cast<std::size_t>(s.c) * nb * hw);
    for (int i = 0; i < nb; ++i)
      for (int c = 0; c < s.c; ++c)
        std::copy_n(images + (static_cast<std::size_t>(i) * s.c + c) * hw, hw,
                    input.data() + (static_cast<std::size_t>(c) * nb + i) * hw);
  }

  // Forward pass; training = batch statistics for BN (and running-stat update).
  void forward(bool training) {
    const auto& layers = m.layers();
    for (std::size_t li = 0; li < layers.size(); ++li) {
      const layer& l = layers[li];
      const shape4 is = l.in_shape, os = l.out_shape;
      const std::vector<float>& x = in_act(l.inputs[0]);
      std::vector<float>& y = act[li];
      y.assign(static_cast<std::size_t>(os.c) * n * os.plane_size(), 0.0f);
      switch (l.type) {
        case layer_type::conv: {
          const int K = l.filters, C = is.c, KH = l.kernel, KW = l.kernel;
          const int OH = os.h, OW = os.w, H = is.h, W = is.w;
          const std::size_t P = static_cast<std::size_t>(OH) * OW, NP = P * static_cast<std::size_t>(n);
          const int CKK = C * KH * KW;
          auto& col = cols[li];
          col.assign(static_cast<std::size_t>(CKK) * NP, 0.0f);
          for (int c = 0; c < C; ++c)
            for (int kh = 0; kh < KH; ++kh)
              for (int kw = 0; kw < KW; ++kw) {
                float* row = col.data() + static_cast<std::size_t>((c * KH + kh) * KW + kw) * NP;
                for (int b = 0; b < n; ++b) {
                  const float* xp = x.data() + (static_cast<std::size_t>(c) * n + b) * H * W;
                  float* rp = row + static_cast<std::size_t>(b) * P;
                  for (int oh = 0; oh < OH; ++oh) {
                    const int ih = oh * l.conv.stride_h - l.conv.pad_h + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int ow = 0; ow < OW; ++ow) {
                      const int iw = ow * l.conv.stride_w - l.conv.pad_w + kw;
                      if (iw >= 0 && iw < W) rp[oh * OW + ow] = xp[ih * W + iw];
                    }
                  }
                }
              }
          gemm(false, false, K, static_cast<int>(NP), CKK, l.weights.data(), CKK, col.data(), static_cast<int>(NP),
               y.data(), static_cast<int>(NP));
          if (l.has_bias)
            for (int k = 0; k < K; ++k) {
              float* yp = y.data() + static_cast<std::size_t>(k) * NP;
              for (std::size_t i = 0; i < NP; ++i) yp[i] += l.bias[static_cast<std::size_t>(k)];
            }
          break;
        }
        case layer_type::dense: {
          const int I = static_cast<int>(is.image_size()), O = l.filters;
          const std::size_t hw = is.plane_size();
          auto& xg = cols[li];
          xg.resize(static_cast<std::size_t>(n) * I);
          for (int b = 0; b < n; ++b)
            for (int c = 0; c < is.c; ++c)
              std::copy_n(x.data() + (static_cast<std::size_t>(c) * n + b) * hw, hw,
                          xg.data() + static_cast<std::size_t>(b) * I + c * hw);
          gemm(false, true, O, n, I, l.weights.data(), I, xg.data(), I, y.data(), n);
          if (l.has_bias)
            for (int o = 0; o < O; ++o)
              for (int b = 0; b < n; ++b) y[static_cast<std::size_t>(o) * n + b] += l.bias[static_cast<std::size_t>(o)];
          break;
        }
        case layer_type::relu:
          for (std::size_t i = 0; i < y.size(); ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
          break;
        case layer_type::tanh:
          for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::tanh(x[i]);
          break;
        case layer_type::max_pool:
        case layer_type::avg_pool: {
          const bool mx = l.type == layer_type::max_pool;
          auto& am = argmax[li];
          if (mx) am.assign(y.size(), -1);
          const auto& pp = l.pool;
          for (int c = 0; c < is.c; ++c)
            for (int b = 0; b < n; ++b) {
              const std::size_t ib = (static_cast<std::size_t>(c) * n + b) * is.plane_size();
              const std::size_t ob = (static_cast<std::size_t>(c) * n + b) * os.plane_size();
              for (int oh = 0; oh < os.h; ++oh)
                for (int ow = 0; ow < os.w; ++ow) {
                  float best = -INFINITY, sum = 0.0f;
                  int arg = -1, cnt = 0;
                  for (int wh = 0; wh < pp.window_h; ++wh)
                    for (int ww = 0; ww < pp.window_w; ++ww) {
                      const int ih = oh * pp.stride_h - pp.pad_h + wh, iw = ow * pp.stride_w - pp.pad_w + ww;
                      if (ih < 0 || ih >= is.h || iw < 0 || iw >= is.w) continue;
                      const int idx = ih * is.w + iw;
                      const float v = x[ib + static_cast<std::size_t>(idx)];
                      if (v > best) {
                        best = v;
                        arg = idx;
                      }
                      sum += v;
                      ++cnt;
                    }
                  const std::size_t o = ob + static_cast<std::size_t>(oh * os.w + ow);
                  if (mx) {
                    y[o] = arg < 0 ? 0.0f : best;
                    am[o] = arg;
                  } else {
                    y[o] = cnt ? sum / static_cast<float>(cnt) : 0.0f;
                  }
                }
            }
          break;
        }
        case layer_type::batch_norm: {
          const std::size_t M = static_cast<std::size_t>(n) * is.plane_size();
          auto& xh = xhat[li];
          auto& is_ = invstd[li];
          xh.resize(y.size());
          is_.resize(static_cast<std::size_t>(is.c));
          auto& ml = const_cast<layer&>(l);
          for (int c = 0; c < is.c; ++c) {
            const float* xp = x.data() + static_cast<std::size_t>(c) * M;
            float mean, var;
            if (training) {
              double s = 0, s2 = 0;
              for (std::size_t i = 0; i < M; ++i) s += xp[i];
              mean = static_cast<float>(s / static_cast<double>(M));
              for (std::size_t i = 0; i < M; ++i) {
                const double d = xp[i] - mean;
                s2 += d * d;
              }
              var = static_cast<float>(s2 / static_cast<double>(M));
              const auto cc = static_cast<std::size_t>(c);
              const double mo = o.bn_momentum;
              ml.mean[cc] = static_cast<float>((1 - mo) * ml.mean[cc] + mo * mean);
              ml.var[cc] = static_cast<float>((1 - mo) * ml.var[cc] +
                                              mo * var * static_cast<double>(M) / static_cast<double>(std::max<std::size_t>(M - 1, 1)));
            } else {
              mean = l.mean[static_cast<std::size_t>(c)];
              var = l.var[static_cast<std::size_t>(c)];
            }
            const float inv = 1.0f / std::sqrt(var + l.eps);
            is_[static_cast<std::size_t>(c)] = inv;
            const float g = l.gamma[static_cast<std::size_t>(c)], bt = l.beta[static_cast<std::size_t>(c)];
            float* yp = y.data() + static_cast<std::size_t>(c) * M;
            float* hp = xh.data() + static_cast<std::size_t>(c) * M;
            for (std::size_t i = 0; i < M; ++i) {
              hp[i] = (xp[i] - mean) * inv;
              yp[i] = g * hp[i] + bt;
            }
          }
          break;
        }
        case layer_type::add: {
          const auto& x2 = in_act(l.inputs[1]);
          for (std::size_t i = 0; i < y.size(); ++i) y[i] = x[i] + x2[i];
          break;
        }
        case layer_type::softmax: {
          const int K = os.c;
          const std::size_t hw = os.plane_size();
          for (int b = 0; b < n; ++b)
            for (std::size_t p = 0; p < hw; ++p) {
              auto at = [&](int k) { return (static_cast<std::size_t>(k) * n + b) * hw + p; };
              float mx = -INFINITY;
              for (int k = 0; k < K; ++k) mx = std::max(mx, x[at(k)]);
              double s = 0;
              for (int k = 0; k < K; ++k) {
                y[at(k)] = std::exp(x[at(k)] - mx);
                s += y[at(k)];
              }
              for (int k = 0; k < K; ++k) y[at(k)] = static_cast<float>(y[at(k)] / s);
            }
          break;
        }
      }
    }
  }

  double loss_of(const int* labels) const {
    const auto& p = act.back();
    double loss = 0;
    for (int b = 0; b < n; ++b)
      loss -= std::log(std::max(1e-30, static_cast<double>(p[static_cast<std::size_t>(labels[b]) * n + b])));
    return loss / n;
  }

  void backward(const int* labels) {
    const auto& layers = m.layers();
    const auto L = layers.size();
    for (std::size_t i = 0; i < L; ++i) grad[i].assign(act[i].size(), 0.0f);
    for (auto& g : grads) std::fill(g.begin(), g.end(), 0.0f);
    // softmax + cross-entropy: d logits = (p - onehot) / n, put in the softmax's input grad.
    const layer& last = layers.back();
    {
      const int src = last.inputs[0];
      if (src < 0) throw model_error("trainer: softmax directly on the input");
      auto& g = grad[static_cast<std::size_t>(src)];
      const auto& p = act.back();
      for (std::size_t i = 0; i < p.size(); ++i) g[i] += p[i] / static_cast<float>(n);
      for (int b = 0; b < n; ++b) g[static_cast<std::size_t>(labels[b]) * n + b] -= 1.0f / static_cast<float>(n);
    }
    for (std::size_t li = L - 1; li-- > 0;) {
      const layer& l = layers[li];
      const shape4 is = l.in_shape, os = l.out_shape;
      const std::vector<float>& dy = grad[li];
      const int src = l.inputs[0];
      std::vector<float>* dxp = src < 0 ? nullptr : &grad[static_cast<std::size_t>(src)];
      const std::vector<float>& x = in_act(src);
      switch (l.type) {
        case layer_type::conv: {
          const int K = l.filters, C = is.c, KH = l.kernel, KW = l.kernel;
          const int OH = os.h, OW = os.w, H = is.h, W = is.w;
          const std::size_t P = static_cast<std::size_t>(OH) * OW, NP = P * static_cast<std::size_t>(n);
          const int CKK = C * KH * KW;
          const std::size_t gw = grad_index(&l, 0);
          gemm(false, true, K, CKK, static_cast<int>(NP), dy.data(), static_cast<int>(NP), cols[li].data(),
               static_cast<int>(NP), grads[gw].data(), CKK);
          if (l.has_bias) {
            auto& gb = grads[gw + 1];
            for (int k = 0; k < K; ++k) {
              double s = 0;
              const float* dp = dy.data() + static_cast<std::size_t>(k) * NP;
              for (std::size_t i = 0; i < NP; ++i) s += dp[i];
              gb[static_cast<std::size_t>(k)] = static_cast<float>(s);
            }
          }
          if (dxp) {
            dcol.resize(static_cast<std::size_t>(CKK) * NP);
            gemm(true, false, CKK, static_cast<int>(NP), K, l.weights.data(), CKK, dy.data(), static_cast<int>(NP),
                 dcol.data(), static_cast<int>(NP));
            auto& dx = *dxp;
            for (int c = 0; c < C; ++c)
              for (int kh = 0; kh < KH; ++kh)
                for (int kw = 0; kw < KW; ++kw) {
                  const float* row = dcol.data() + static_cast<std::size_t>((c * KH + kh) * KW + kw) * NP;
                  for (int b = 0; b < n; ++b) {
                    float* xp = dx.data() + (static_cast<std::size_t>(c) * n + b) * H * W;
                    const float* rp = row + static_cast<std::size_t>(b) * P;
                    for (int oh = 0; oh < OH; ++oh) {
                      const int ih = oh * l.conv.stride_h - l.conv.pad_h + kh;
                      if (ih < 0 || ih >= H) continue;
                      for (int ow = 0; ow < OW; ++ow) {
                        const int iw = ow * l.conv.stride_w - l.conv.pad_w + kw;
                        if (iw >= 0 && iw < W) xp[ih * W + iw] += rp[oh * OW + ow];
                      }
                    }
                  }
                }
          }
          break;
        }
        case layer_type::dense: {
          const int I = static_cast<int>(is.image_size()), O = l.filters;
          const std::size_t gw = grad_index(&l, 0);
          gemm(false, false, O, I, n, dy.data(), n, cols[li].data(), I, grads[gw].data(), I);
          if (l.has_bias) {
            auto& gb = grads[gw + 1];
            for (int o2 = 0; o2 < O; ++o2) {
              double s = 0;
              for (int b = 0; b < n; ++b) s += dy[static_cast<std::size_t>(o2) * n + b];
              gb[static_cast<std::size_t>(o2)] = static_cast<float>(s);
            }
          }
          if (dxp) {
            std::vector<float> dxg(static_cast<std::size_t>(n) * I);
            gemm(true, false, n, I, O, dy.data(), n, l.weights.data(), I, dxg.data(), I);
            const std::size_t hw = is.plane_size();
            auto& dx = *dxp;
            for (int b = 0; b < n; ++b)
              for (int c = 0; c < is.c; ++c) {
                float* d = dx.data() + (static_cast<std::size_t>(c) * n + b) * hw;
                const float* s = dxg.data() + static_cast<std::size_t>(b) * I + c * hw;
                for (std::size_t i = 0; i < hw; ++i) d[i] += s[i];
              }
          }
          break;
        }
        case layer_type::relu:
          if (dxp)
            for (std::size_t i = 0; i < dy.size(); ++i)
              if (x[i] > 0.0f) (*dxp)[i] += dy[i];
          break;
        case layer_type::tanh:
          if (dxp) {
            const auto& y = act[li];
            for (std::size_t i = 0; i < dy.size(); ++i) (*dxp)[i] += dy[i] * (1.0f - y[i] * y[i]);
          }
          break;
        case layer_type::max_pool:
        case layer_type::avg_pool: {
          if (!dxp) break;
          const bool mx = l.type == layer_type::max_pool;
          const auto& pp = l.pool;
          auto& dx = *dxp;
          for (int c = 0; c < is.c; ++c)
            for (int b = 0; b < n; ++b) {
              const std::size_t ib = (static_cast<std::size_t>(c) * n + b) * is.plane_size();
              const std::size_t ob = (static_cast<std::size_t>(c) * n + b) * os.plane_size();
              for (int oh = 0; oh < os.h; ++oh)
                for (int ow = 0; ow < os.w; ++ow) {
                  const std::size_t o2 = ob + static_cast<std::size_t>(oh * os.w + ow);
                  if (mx) {
                    if (argmax[li][o2] >= 0) dx[ib + static_cast<std::size_t>(argmax[li][o2])] += dy[o2];
                    continue;
                  }
                  int cnt = 0;
                  for (int pass = 0; pass < 2; ++pass)
                    for (int wh = 0; wh < pp.window_h; ++wh)
                      for (int ww = 0; ww < pp.window_w; ++ww) {
                        const int ih = oh * pp.stride_h - pp.pad_h + wh, iw = ow * pp.stride_w - pp.pad_w + ww;
                        if (ih < 0 || ih >= is.h || iw < 0 || iw >= is.w) continue;
                        if (pass == 0) ++cnt;
                        else dx[ib + static_cast<std::size_t>(ih * is.w + iw)] += dy[o2] / static_cast<float>(cnt);
                      }
                }
            }
          break;
        }
        case layer_type::batch_norm: {
          const std::size_t M = static_cast<std::size_t>(n) * is.plane_size();
          const std::size_t gi = grad_index(&l, 0);
          for (int c = 0; c < is.c; ++c) {
            const auto cc = static_cast<std::size_t>(c);
            const float* dp = dy.data() + cc * M;
            const float* hp = xhat[li].data() + cc * M;
            double sdy = 0, sdyh = 0;
            for (std::size_t i = 0; i < M; ++i) {
              sdy += dp[i];
              sdyh += static_cast<double>(dp[i]) * hp[i];
            }
            grads[gi][cc] = static_cast<float>(sdyh);
            grads[gi + 1][cc] = static_cast<float>(sdy);
            if (dxp) {
              const double g = l.gamma[cc], inv = invstd[li][cc], Md = static_cast<double>(M);
              float* dx = dxp->data() + cc * M;
              for (std::size_t i = 0; i < M; ++i)
                dx[i] += static_cast<float>(g * inv / Md * (Md * dp[i] - sdy - hp[i] * sdyh));
            }
          }
          break;
        }
        case layer_type::add: {
          if (dxp)
            for (std::size_t i = 0; i < dy.size(); ++i) (*dxp)[i] += dy[i];
          if (l.inputs[1] >= 0) {
            auto& d2 = grad[static_cast<std::size_t>(l.inputs[1])];
            for (std::size_t i = 0; i < dy.size(); ++i) d2[i] += dy[i];
          }
          break;
        }
        case layer_type::softmax:
          throw model_error("trainer: softmax is only supported as the last layer");
      }
    }
  }
};

trainer::trainer(model& m, train_options o) : p_(std::make_unique<impl>(m, std::move(o))) {}
trainer::~trainer() = default;

void trainer::init_params() {
  std::mt19937_64 rng(p_->o.seed);
  for (auto& l : p_->m.mutable_layers()) {
    if (l.tunable()) {
      const double fan_in = static_cast<double>(l.weight_shape.image_size());
      const double sd = std::sqrt(2.0 / fan_in);
      for (auto& w : l.weights) w = static_cast<float>(normal(rng) * sd);
      std::fill(l.bias.begin(), l.bias.end(), 0.0f);
    } else if (l.type == layer_type::batch_norm) {
      std::fill(l.gamma.begin(), l.gamma.end(), 1.0f);
      std::fill(l.beta.begin(), l.beta.end(), 0.0f);
      std::fill(l.mean.begin(), l.mean.end(), 0.0f);
      std::fill(l.var.begin(), l.var.end(), 1.0f);
    }
  }
  for (auto& v : p_->m1) std::fill(v.begin(), v.end(), 0.0f);
  for (auto& v : p_->m2) std::fill(v.begin(), v.end(), 0.0f);
  p_->step = 0;
}

double trainer::forward_backward(const float* images, const int* labels, int n) {
  p_->load_input(images, n);
  p_->forward(true);
  const double loss = p_->loss_of(labels);
  p_->backward(labels);
  return loss;
}

double trainer::eval_loss(const float* images, const int* labels, int n) {
  p_->load_input(images, n);
  p_->forward(false);
  return p_->loss_of(labels);
}

void trainer::adam_step(double lr) {
  auto& s = *p_;
  ++s.step;
  const double b1 = s.o.beta1, b2 = s.o.beta2;
  const double c1 = 1 - std::pow(b1, static_cast<double>(s.step)), c2 = 1 - std::pow(b2, static_cast<double>(s.step));
  for (std::size_t k = 0; k < s.params.size(); ++k) {
    auto& w = *s.params[k];
    const auto& g = s.grads[k];
    auto& m1 = s.m1[k];
    auto& m2 = s.m2[k];
    const double wd = s.decay[k] ? s.o.weight_decay : 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double gi = g[i] + wd * w[i];
      m1[i] = static_cast<float>(b1 * m1[i] + (1 - b1) * gi);
      m2[i] = static_cast<float>(b2 * m2[i] + (1 - b2) * gi * gi);
      w[i] -= static_cast<float>(lr * (m1[i] / c1) / (std::sqrt(m2[i] / c2) + s.o.adam_eps));
    }
  }
}

double trainer::train_epoch(const labeled_images& data, int epoch) {
  auto& s = *p_;
  std::size_t total = data.size();
  if (s.o.max_examples) total = std::min(total, s.o.max_examples);
  std::vector<std::size_t> order(total);
  for (std::size_t i = 0; i < total; ++i) order[i] = i;
  std::mt19937_64 rng(s.o.seed * 1000003ull + static_cast<std::uint64_t>(epoch) + 17);
  for (std::size_t i = total; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  const double lr = s.o.lr * std::pow(s.o.lr_decay, epoch);
  const std::size_t img = data.images.shape().image_size();
  std::vector<float> batch;
  std::vector<int> labels;
  double sum = 0;
  std::size_t batches = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first + static_cast<std::size_t>(s.o.batch) <= total; first += static_cast<std::size_t>(s.o.batch)) {
    const int b = s.o.batch;
    batch.resize(static_cast<std::size_t>(b) * img);
    labels.resize(static_cast<std::size_t>(b));
    for (int i = 0; i < b; ++i) {
      const std::size_t e = order[first + static_cast<std::size_t>(i)];
      std::copy_n(data.images.data() + e * img, img, batch.data() + static_cast<std::size_t>(i) * img);
      labels[static_cast<std::size_t>(i)] = data.labels[e];
    }
    sum += forward_backward(batch.data(), labels.data(), b);
    adam_step(lr);
    ++batches;
    if (s.o.log && batches % 200 == 0) {
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char buf[160];
      std::snprintf(buf, sizeof buf, "epoch %d: %zu/%zu images, mean loss %.4f, %.0f s", epoch + 1, first + b, total,
                    sum / static_cast<double>(batches), sec);
      s.o.log(buf);
    }
  }
  return batches ? sum / static_cast<double>(batches) : 0.0;
}

double trainer::accuracy(const labeled_images& data) {
  auto& s = *p_;
  const std::size_t img = data.images.shape().image_size();
  std::size_t ok = 0;
  const int K = s.m.classes();
  for (std::size_t first = 0; first < data.size(); first += 250) {
    const int b = static_cast<int>(std::min<std::size_t>(250, data.size() - first));
    s.load_input(data.images.data() + first * img, b);
    s.forward(false);
    const auto& p = s.act.back();
    for (int i = 0; i < b; ++i) {
      int best = 0;
      for (int k = 1; k < K; ++k)
        if (p[static_cast<std::size_t>(k) * b + i] > p[static_cast<std::size_t>(best) * b + i]) best = k;
      ok += best == data.labels[first + static_cast<std::size_t>(i)];
    }
  }
  return 100.0 * static_cast<double>(ok) / static_cast<double>(data.size());
}

std::vector<std::pair<std::vector<float>*, const std::vector<float>*>> trainer::params_and_grads() {
  std::vector<std::pair<std::vector<float>*, const std::vector<float>*>> out;
  for (std::size_t k = 0; k < p_->params.size(); ++k) out.emplace_back(p_->params[k], &p_->grads[k]);
  return out;
}

void train(model& m, const labeled_images& data, const train_options& o, const labeled_images* monitor,
           const std::function<void(int)>& after_epoch) {
  openblas_set_num_threads(std::max(1, o.blas_threads));
  trainer t(m, o);
  t.init_params();
  for (int e = 0; e < o.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    const double loss = t.train_epoch(data, e);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.log) {
      char buf[200];
      if (monitor) {
        const double acc = t.accuracy(*monitor);
        std::snprintf(buf, sizeof buf, "epoch %d/%d done: mean training loss %.4f, monitor accuracy %.2f%%, %.0f s", e + 1,
                      o.epochs, loss, acc, sec);
      } else {
        std::snprintf(buf, sizeof buf, "epoch %d/%d done: mean training loss %.4f, %.0f s", e + 1, o.epochs, loss, sec);
      }
      o.log(buf);
    }
    if (after_epoch) after_epoch(e);
  }
}

}  // namespace approxtune::dnn
