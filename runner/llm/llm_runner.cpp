// harness LLM runner: protocol 1 jobs of kind "llm" on llama.cpp (libllama), plus the host-side
// tools the GGUF workloads need from the same library (quantize, tokenize, logits, greedy).
//
//   llm_runner JOB_JSON | --job-from-stdin | --probe
//   llm_runner --quantize IN.gguf OUT.gguf FTYPE [THREADS]       (FTYPE: F16 Q8_0 Q4_0 Q4_K_M ...)
//   llm_runner --tokenize MODEL.gguf TEXT_FILE OUT.npy            (int32 ids, BOS as the model wants)
//   llm_runner --logits MODEL.gguf IDS.npy OUT.npy CTX THREADS    (float32 [N, vocab], KV cleared per CTX chunk)
//   llm_runner --greedy MODEL.gguf IDS.npy N OUT.npy THREADS      (N greedy token ids after the prompt)
//   llm_runner --ab-llama-bench MODEL.gguf PP PAIRS THREADS       (pp timing vs llama-bench's, one process: JSON)
//
// Measures are named like llama-bench's: pp<P>@d<D> (prompt processing of P tokens on a KV cache
// already holding D tokens) and tg<T>@d<D> (T single-token decodes), one sample per repetition in
// tokens per second, under the job's stopping rule. Depth is filled once per test, untimed, and
// trimmed back to D after each repetition (llama-bench restores a saved state: same KV content).
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <functional>
#include <iterator>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "clock.hpp"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "job_file.hpp"
#include "json.hpp"
#include "llama.h"
#include "npz.hpp"
#include "probes.hpp"
#include "runner_facts.hpp"

#ifndef HARNESS_LLAMA_VERSION
#define HARNESS_LLAMA_VERSION "unknown"
#endif

namespace runner {

void sleep_s(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

namespace {

constexpr int kProtocol = 1;
using Outputs = std::vector<std::pair<std::string, Array>>;

// ---------------------------------------------------------------- llama.cpp set-up and its log
std::mutex g_log_mu;
std::deque<std::string> g_log;  // the last lines llama.cpp logged: an error quotes them
bool g_verbose = false;

void on_log(ggml_log_level level, const char* text, void*) {
  if (g_verbose) std::fputs(text, stderr);
  if (level < GGML_LOG_LEVEL_WARN) return;
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.emplace_back(text);
  while (g_log.size() > 8) g_log.pop_front();
}

std::string log_tail() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string out;
  for (const auto& l : g_log) out += l;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "" : " (llama.cpp said: " + out + ")";
}

std::string dirname_of(const std::string& p) {
  const auto i = p.rfind('/');
  return i == std::string::npos ? "." : p.substr(0, i);
}

// The folder holding libggml-cpu-*.so: $HARNESS_LLAMA_LIB (the bundle's launcher sets it), else ../lib.
std::string backend_dir() {
  const char* env = std::getenv("HARNESS_LLAMA_LIB");
  if (env && *env) return env;
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "lib";
  buf[n] = 0;
  return dirname_of(dirname_of(buf)) + "/lib";
}

std::vector<std::string> g_backends;

void init_llama() {
  static bool done = false;
  if (done) return;
  done = true;
  g_verbose = std::getenv("HARNESS_LLM_VERBOSE") != nullptr;
  llama_log_set(on_log, nullptr);
  ggml_backend_load_all_from_path(backend_dir().c_str());
  llama_backend_init();
  for (size_t i = 0; i < ggml_backend_reg_count(); ++i) g_backends.emplace_back(ggml_backend_reg_name(ggml_backend_reg_get(i)));
  if (ggml_backend_dev_count() == 0) {
    throw std::runtime_error("no ggml backend loaded from " + backend_dir() +
                             " (libggml-cpu-*.so missing, or none runs on this CPU)" + log_tail());
  }
}

std::string cpu_variant() {
  // the CPU backend's own name for what it picked, e.g. "CPU" + features; ggml reports the device description
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_CPU) return ggml_backend_dev_description(d);
  }
  return "";
}

json static_facts() {
  json facts = runner_facts("native-llm");
  facts["llama_cpp"] = HARNESS_LLAMA_VERSION;
  return facts;
}

json env_facts() {
  json facts = static_facts();
  try {
    init_llama();
    facts["providers"] = json::array({"llama.cpp:CPU"});
    facts["ggml_backends"] = g_backends;
    facts["cpu"] = cpu_variant();
    facts["system_info"] = llama_print_system_info();
  } catch (const std::exception& e) {
    facts["llama_cpp_error"] = e.what();
  }
  return facts;
}

// ---------------------------------------------------------------- model, context, batches
struct Model {
  llama_model* m = nullptr;
  explicit Model(const std::string& path) {
    init_llama();
    llama_model_params p = llama_model_default_params();
    p.n_gpu_layers = 0;
    m = llama_model_load_from_file(path.c_str(), p);
    if (!m) throw std::runtime_error("llama.cpp could not load " + path + log_tail());
  }
  ~Model() {
    if (m) llama_model_free(m);
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  const llama_vocab* vocab() const { return llama_model_get_vocab(m); }
  int n_vocab() const { return llama_vocab_n_tokens(vocab()); }
};

// A persistent CPU thread pool, as llama-bench and llama.cpp's own tools attach one to each context.
// Without it ggml builds and tears down a pool (threads included) for every graph: every decoded token.
// The pool functions live in the CPU backend, loaded at run time: looked up as llama-bench does.
struct ThreadPool {
  ggml_threadpool* p = nullptr;
  decltype(ggml_threadpool_free)* free_fn = nullptr;
  ThreadPool(int threads, int poll) {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu) throw std::runtime_error("no CPU backend loaded" + log_tail());
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
    auto* new_fn = reinterpret_cast<decltype(ggml_threadpool_new)*>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
    free_fn = reinterpret_cast<decltype(ggml_threadpool_free)*>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
    if (!new_fn || !free_fn) throw std::runtime_error("the CPU backend exports no ggml_threadpool_new/free");
    ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);  // no CPU mask, normal priority
    tpp.poll = static_cast<uint32_t>(poll);
    p = new_fn(&tpp);
    if (!p) throw std::runtime_error("ggml could not create a thread pool of " + std::to_string(threads) + " threads");
  }
  ~ThreadPool() {
    if (p) free_fn(p);
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
};

struct Context {
  llama_context* c = nullptr;
  // llama-bench's context for a test (to_llama_cparams): n_ctx = P + T + D, its n_batch/n_ubatch,
  // f16 KV cache, flash attention auto, no embeddings, swa_full off; llama.cpp pads n_ctx to 256
  // and clamps n_batch/n_ubatch to it (what it did is read back into the result).
  Context(const Model& model, uint32_t n_ctx, uint32_t n_batch, uint32_t n_ubatch, int threads, bool all_logits,
          ThreadPool* pool = nullptr) {
    llama_context_params p = llama_context_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.n_ubatch = n_ubatch;
    p.n_threads = threads;
    p.n_threads_batch = threads;
    p.type_k = GGML_TYPE_F16;
    p.type_v = GGML_TYPE_F16;
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO;
    p.embeddings = false;
    p.swa_full = false;
    p.no_perf = true;
    if (all_logits) {
      p.n_outputs_max = n_batch;
      p.n_outputs_max_per_seq = n_batch;
    }
    c = llama_init_from_model(model.m, p);
    if (!c) throw std::runtime_error("llama.cpp could not create a context of " + std::to_string(n_ctx) + " tokens" + log_tail());
    if (pool) llama_attach_threadpool(c, pool->p, nullptr);
  }
  explicit Context(llama_context* made) : c(made) {}  // one made elsewhere (llama-bench's way), freed here
  ~Context() {
    if (c) llama_free(c);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  llama_memory_t mem() const { return llama_get_memory(c); }
  llama_pos next_pos() const { return llama_memory_seq_pos_max(mem(), 0) + 1; }
  // what llama.cpp made of the asked sizes, in llama-bench's words
  std::string describe(uint32_t asked) const {
    return "n_ctx " + std::to_string(llama_n_ctx(c)) + " (asked " + std::to_string(asked) + "), n_batch " +
           std::to_string(llama_n_batch(c)) + ", n_ubatch " + std::to_string(llama_n_ubatch(c)) + ", n_seq_max " +
           std::to_string(llama_n_seq_max(c));
  }
};

struct Batch {
  llama_batch b;
  explicit Batch(int n) : b(llama_batch_init(n, 0, 1)) {}
  ~Batch() { llama_batch_free(b); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  void fill(const llama_token* ids, int n, llama_pos pos0, bool all_logits) {
    b.n_tokens = n;
    for (int i = 0; i < n; ++i) {
      b.token[i] = ids[i];
      b.pos[i] = pos0 + i;
      b.n_seq_id[i] = 1;
      b.seq_id[i][0] = 0;
      b.logits[i] = all_logits || i == n - 1;
    }
  }
};

void decode(Context& ctx, Batch& batch, const char* what) {
  const int rc = llama_decode(ctx.c, batch.b);
  if (rc != 0) throw std::runtime_error(std::string("llama_decode failed during ") + what + " (code " + std::to_string(rc) + ")" + log_tail());
}

// Decodes ids[0..n) at the end of the cache in batches of the given batch's size; logits for the last
// token of each batch only (llama-bench's test_prompt: llama_batch_get_one).
void prefill(Context& ctx, Batch& batch, int n_batch, const llama_token* ids, int n, const char* what) {
  for (int done = 0; done < n;) {
    const int k = std::min(n - done, n_batch);
    batch.fill(ids + done, k, ctx.next_pos(), false);
    decode(ctx, batch, what);
    done += k;
  }
  llama_synchronize(ctx.c);
}

void prefill(Context& ctx, const llama_token* ids, int n, int n_batch, const char* what) {
  Batch batch(std::min(n, n_batch));
  prefill(ctx, batch, std::min(n, n_batch), ids, n, what);
}

llama_token argmax(const float* logits, int n_vocab) {
  return static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits);
}

// ---------------------------------------------------------------- the stopping rule
struct Rule {
  int64_t warmup = 3;
  double warmup_s = 0.2;
  int64_t min_iterations = 10;
  double min_seconds = 1.0;
  double max_seconds = 10.0;
  int64_t max_iterations = 1000000;
  explicit Rule(const json& m) {
    warmup = m.value("warmup", warmup);
    warmup_s = m.value("warmup_s", warmup_s);
    min_iterations = m.value("min_iterations", min_iterations);
    min_seconds = m.value("min_seconds", min_seconds);
    max_seconds = m.value("max_seconds", max_seconds);
    max_iterations = m.value("max_iterations", max_iterations);
  }
};

struct Steady {
  std::vector<double> seconds;
  int64_t warmup_n = 0;
  std::string stopped_by;
  double w0 = 0, w1 = 0;
  double watch = 0;  // warm-up + steady seconds
};

// fn() runs one repetition and returns the seconds it timed (set-up outside the timed part is allowed).
Steady measure_rule(const std::function<double()>& fn, const Rule& r) {
  Steady s;
  const double t0 = monotonic_s();
  while (s.warmup_n < r.warmup || monotonic_s() - t0 < r.warmup_s) {
    fn();
    ++s.warmup_n;
    if (monotonic_s() - t0 > r.max_seconds) break;  // a warm-up longer than the whole budget
  }
  s.w0 = monotonic_s();
  for (;;) {
    s.seconds.push_back(fn());
    const double el = monotonic_s() - s.w0;
    const auto n = static_cast<int64_t>(s.seconds.size());
    if (n >= r.max_iterations) { s.stopped_by = "max_iterations"; break; }
    if (el >= r.max_seconds) { s.stopped_by = "max_seconds"; break; }
    if (n >= r.min_iterations && el >= r.min_seconds) { s.stopped_by = "min_iterations+min_seconds"; break; }
  }
  s.w1 = monotonic_s();
  s.watch = s.w1 - t0;
  return s;
}

// ---------------------------------------------------------------- memory
double status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t k = strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, k, key) == 0 && line.size() > k && line[k] == ':') return std::atof(line.c_str() + k + 1);
  }
  return -1;
}

// ---------------------------------------------------------------- the llm job
std::vector<int> int_list(const json& params, const char* key, std::vector<int> dflt) {
  if (!params.contains(key)) return dflt;
  std::vector<int> v = params.at(key).get<std::vector<int>>();
  for (int x : v) {
    if (x < 0) throw std::runtime_error(std::string("params.") + key + " holds a negative value");
  }
  return v;
}

std::string series_key(const char* what, int n, int depth) {
  return std::string(what) + std::to_string(n) + "@d" + std::to_string(depth);
}

// a word a POSIX shell (and Python's shlex) reads back as itself
std::string shell_quote(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-+=:,@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string join_ints(const std::vector<int>& v) {
  std::string out;
  for (int x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

json series_json(const Steady& s, int tokens) {
  json samples = json::array();
  for (double sec : s.seconds) samples.push_back(tokens / std::max(sec, 1e-9));
  return {{"unit", "tok/s"}, {"samples", samples}, {"warmup_n", s.warmup_n}, {"stopped_by", s.stopped_by}};
}

Outputs run_llm(const json& job, json& result, double& watch) {
  const json params = job.value("params", json::object());
  const std::string path = job.at("models").at("model").get<std::string>();
  const int threads = params.value("threads", 0) > 0 ? params.value("threads", 0)
                      : (job.contains("session") && job["session"].value("intra_op_num_threads", json()).is_number_integer()
                             ? job["session"]["intra_op_num_threads"].get<int>() : 4);
  const int n_batch = params.value("n_batch", 2048);
  const int n_ubatch = params.value("n_ubatch", 512);
  const int poll = params.value("poll", 50);  // llama-bench's --poll default: busy-wait share of the pool's threads
  if (poll < 0 || poll > 100) throw std::runtime_error("ValueError: params.poll must be within 0..100, got " + std::to_string(poll));
  const std::vector<int> pps = int_list(params, "pp", {512});
  const std::vector<int> tgs = int_list(params, "tg", {128});
  const std::vector<int> depths = int_list(params, "depths", {0});
  const int greedy_n = params.value("greedy", 0);
  std::vector<llama_token> ids = params.value("ids", std::vector<llama_token>{});
  const Rule rule(job.value("measure", json::object()));

  const double t_load = perf_s();
  Model model(path);
  const double load_s = perf_s() - t_load;
  watch += load_s;
  result["load_ms"]["model"] = load_s * 1e3;
  const int n_vocab = model.n_vocab();
  const int n_ctx_train = llama_model_n_ctx_train(model.m);
  if (ids.empty()) {  // llama-bench's way: seeded pseudo-random tokens
    std::srand(1);
    for (int i = 0; i < 8192; ++i) ids.push_back(std::rand() % n_vocab);
  }
  for (llama_token t : ids) {
    if (t < 0 || t >= n_vocab) throw std::runtime_error("params.ids holds token " + std::to_string(t) + ", outside the model's vocabulary of " + std::to_string(n_vocab));
  }
  // ids[k] for any k: the fixed text, cycled (the BOS the host put first stays first)
  auto id_at = [&](size_t k) { return ids[k % ids.size()]; };
  std::vector<llama_token> stream(8192 + 4096);
  for (size_t k = 0; k < stream.size(); ++k) stream[k] = id_at(k);

  char desc[256] = {0};
  llama_model_desc(model.m, desc, sizeof desc);
  // Everything below is llama-bench's way unless said: the session records it, and llama_bench_args
  // repeats it as llama-bench flags, so a reader can run the same tests with llama-bench.
  result["session"] = {{"threads", threads}, {"n_batch", n_batch}, {"n_ubatch", n_ubatch}, {"model_desc", desc},
                       {"model_size", static_cast<int64_t>(llama_model_size(model.m))},
                       {"model_n_params", static_cast<int64_t>(llama_model_n_params(model.m))},
                       {"n_vocab", n_vocab}, {"n_ctx_train", n_ctx_train}, {"type_k", "f16"}, {"type_v", "f16"},
                       {"flash_attn", "auto"}, {"cpu", cpu_variant()}, {"n_gpu_layers", 0}, {"poll", poll},
                       {"cpu_mask", "0x0"}, {"prio", 0}, {"swa_full", false}, {"embeddings", false},
                       {"load_mode", llama_load_mode_name(llama_model_default_params().load_mode)},
                       {"tg_token", "greedy argmax of the previous token's logits (llama-bench: random ids)"},
                       {"timed", "pp: the prompt's llama_decode calls + synchronize; tg: T x (llama_decode + "
                                 "argmax); depth fill and KV reset untimed; one persistent thread pool per test"}};
  {
    std::string args = "-m " + shell_quote(path) + " -p " + join_ints(pps) + " -n " + join_ints(tgs) + " -d " + join_ints(depths) +
                       " -t " + std::to_string(threads) + " -b " + std::to_string(n_batch) + " -ub " +
                       std::to_string(n_ubatch) + " -ctk f16 -ctv f16 -fa auto -ngl 0 --poll " + std::to_string(poll) +
                       " -C 0x0 --prio 0 -embd 0 -lm " + llama_load_mode_name(llama_model_default_params().load_mode);
    result["session"]["llama_bench_args"] = args;
  }
  result["providers"] = {{"requested", job.value("provider", std::string("llama.cpp:CPU"))},
                         {"available", json::array({"llama.cpp:CPU"})},
                         {"session", json::array({"llama.cpp:CPU"})},
                         {"placement", json::object()},
                         {"used", "llama.cpp:CPU"},
                         {"fallback", false},
                         {"placement_method", "single provider"}};
  json skipped = json::array();
  std::string contexts;  // per test: what llama.cpp made of the context sizes asked
  std::vector<double> argmax_s;  // the greedy step's own cost, per generated token
  bool first = true;
  // KV reset before each repetition: cleared at depth 0 (llama-bench: llama_memory_clear); trimmed
  // back to the depth fill otherwise (llama-bench restores a saved state: the same KV content).
  auto reset = [](Context& ctx, int depth) {
    if (depth == 0) llama_memory_clear(ctx.mem(), false);
    else llama_memory_seq_rm(ctx.mem(), 0, depth, -1);
  };
  for (int depth : depths) {
    for (int pp : pps) {
      if (pp == 0) continue;
      if (depth + pp > n_ctx_train || depth + pp > static_cast<int>(stream.size())) {
        skipped.push_back(series_key("pp", pp, depth) + ": past the model's context (" + std::to_string(n_ctx_train) + ")");
        continue;
      }
      const double t_ctx = perf_s();
      ThreadPool pool(threads, poll);
      const uint32_t asked = static_cast<uint32_t>(pp + depth);
      Context ctx(model, asked, static_cast<uint32_t>(n_batch), static_cast<uint32_t>(n_ubatch), threads, false, &pool);
      if (first) result["load_ms"]["context"] = (perf_s() - t_ctx) * 1e3;
      contexts += (contexts.empty() ? "" : "; ") + series_key("pp", pp, depth) + ": " + ctx.describe(asked);
      const int step = static_cast<int>(llama_n_batch(ctx.c));
      Batch batch(std::min(pp + depth, step));  // allocated once, outside the timed part
      if (depth > 0) prefill(ctx, batch, step, stream.data(), depth, "the depth fill");
      double ttft = 0;
      auto rep = [&]() {
        reset(ctx, depth);
        const double t0 = perf_s();
        prefill(ctx, batch, step, stream.data() + depth, pp, "prompt processing");
        const double dt = perf_s() - t0;
        argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);  // the first token: TTFT = prefill + this
        ttft = perf_s() - t0;
        return dt;
      };
      if (first) {  // the first call on a fresh context, timed on its own
        const double t0 = perf_s();
        rep();
        const double dt = perf_s() - t0;
        watch += dt;
        result["first_inference_ms"][series_key("pp", pp, depth)] = dt * 1e3;
        first = false;
      }
      std::vector<double> ttfts;
      Steady s = measure_rule([&]() {
        const double dt = rep();
        ttfts.push_back(ttft);
        return dt;
      }, rule);
      watch += s.watch;
      result["series"][series_key("pp", pp, depth)] = series_json(s, pp);
      result["windows"][series_key("pp", pp, depth)] = {s.w0, s.w1};
      if (depth == 0) {  // time to first token: the steady repetitions' prefill + first argmax
        json ms = json::array();
        for (size_t i = ttfts.size() - s.seconds.size(); i < ttfts.size(); ++i) ms.push_back(ttfts[i] * 1e3);
        result["series"]["ttft" + std::to_string(pp) + "_ms"] = {{"unit", "ms"}, {"samples", ms}, {"warmup_n", s.warmup_n},
                                                                  {"stopped_by", s.stopped_by}};
      }
    }
    for (int tg : tgs) {
      if (tg == 0) continue;
      if (depth + tg > n_ctx_train) {
        skipped.push_back(series_key("tg", tg, depth) + ": past the model's context (" + std::to_string(n_ctx_train) + ")");
        continue;
      }
      ThreadPool pool(threads, poll);
      const uint32_t asked = static_cast<uint32_t>(tg + depth);
      Context ctx(model, asked, static_cast<uint32_t>(n_batch), static_cast<uint32_t>(n_ubatch), threads, false, &pool);
      contexts += (contexts.empty() ? "" : "; ") + series_key("tg", tg, depth) + ": " + ctx.describe(asked);
      if (depth > 0) prefill(ctx, stream.data(), depth, static_cast<int>(llama_n_batch(ctx.c)), "the depth fill");
      Batch one(1);
      auto rep = [&]() {
        reset(ctx, depth);
        llama_token tok = stream[static_cast<size_t>(depth)];
        double in_argmax = 0;
        const double t0 = perf_s();
        for (int i = 0; i < tg; ++i) {
          one.fill(&tok, 1, depth + i, true);
          decode(ctx, one, "token generation");
          const float* logits = llama_get_logits_ith(ctx.c, -1);  // synchronizes, as llama-bench's test_gen does
          const double a0 = perf_s();
          tok = argmax(logits, n_vocab);  // greedy, as an app decodes
          in_argmax += perf_s() - a0;
        }
        const double dt = perf_s() - t0;
        argmax_s.push_back(in_argmax / tg);
        return dt;
      };
      Steady s = measure_rule(rep, rule);
      watch += s.watch;
      result["series"][series_key("tg", tg, depth)] = series_json(s, tg);
      result["windows"][series_key("tg", tg, depth)] = {s.w0, s.w1};
    }
  }
  result["session"]["contexts"] = contexts;
  if (!argmax_s.empty()) {  // what greedy decoding adds to each tg token over llama-bench's random ids (median)
    std::nth_element(argmax_s.begin(), argmax_s.begin() + argmax_s.size() / 2, argmax_s.end());
    result["session"]["tg_argmax_ns_per_token"] = static_cast<int64_t>(argmax_s[argmax_s.size() / 2] * 1e9);
  }
  if (result["series"].empty()) throw std::runtime_error("no test fits the model's context: " + dump(skipped));
  if (!skipped.empty()) result["session"]["skipped"] = dump(skipped);
  // Peak memory before anything else is allocated. VmHWM counts the file-backed pages of the
  // mmapped GGUF this process touched as well as anonymous memory (KV cache, compute buffers).
  const double hwm = status_kb("VmHWM");
  if (hwm > 0) {
    result["memory"] = {{"peak_rss_mb", hwm / 1024.0},
                        {"method", "VmHWM (measured process only; includes the file-backed pages of the mmapped GGUF "
                                   "it touched)"}};
  } else {
    result["memory"] = {{"peak_rss_mb", 1.0}, {"method", "unavailable (no /proc/self/status)"}};
  }
  // session values are ints or strings in protocol 1: the split of the resident set, in kB
  result["session"]["rss_file_kb"] = static_cast<int64_t>(status_kb("RssFile"));
  result["session"]["rss_anon_kb"] = static_cast<int64_t>(status_kb("RssAnon"));
  result["session"]["vm_hwm_kb"] = static_cast<int64_t>(hwm);

  Outputs outputs;
  if (greedy_n > 0) {  // greedy continuation of the fixed text's first prompt tokens: runners compare these
    const int prompt = std::min<int>(params.value("greedy_prompt", 32), static_cast<int>(ids.size()));
    ThreadPool pool(threads, poll);
    Context ctx(model, static_cast<uint32_t>(prompt + greedy_n + 1), static_cast<uint32_t>(n_batch), static_cast<uint32_t>(n_ubatch), threads, false, &pool);
    prefill(ctx, ids.data(), prompt, n_batch, "the greedy prompt");
    Array tokens{"<i4", {greedy_n}, std::vector<uint8_t>(static_cast<size_t>(greedy_n) * 4)};
    Batch one(1);
    llama_token tok = argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);
    for (int i = 0; i < greedy_n; ++i) {
      std::memcpy(tokens.data.data() + 4 * i, &tok, 4);
      if (i + 1 == greedy_n) break;
      one.fill(&tok, 1, prompt + i, true);
      decode(ctx, one, "greedy generation");
      tok = argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);
    }
    outputs.emplace_back("greedy_tokens", tokens);
  }
  return outputs;
}

// A handoff job (handoff_s > 0, path on stdin): say "warm-up", wait for "go" (or EOF or handoff_s).
double hold_for_go(double handoff_s, int fd) {
  if (handoff_s <= 0 || fd < 0) return 0;
  std::fputs("warm-up\n", stdout);
  std::fflush(stdout);
  const double t0 = monotonic_s();
  std::string buf;
  while (monotonic_s() - t0 < handoff_s) {
    pollfd p{fd, POLLIN, 0};
    const int left_ms = static_cast<int>((handoff_s - (monotonic_s() - t0)) * 1e3) + 1;
    if (poll(&p, 1, left_ms) <= 0) break;
    char c = 0;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') {
      if (buf == "go") break;
      buf.clear();
    } else {
      buf.push_back(c);
    }
  }
  return monotonic_s() - t0;
}

json run_job(const json& job, int stdin_fd) {
  json result = {{"protocol", kProtocol}, {"status", "failed"}, {"error", nullptr}, {"traceback", nullptr},
                 {"env", env_facts()}, {"providers", nullptr}, {"session", json::object()},
                 {"load_ms", json::object()}, {"first_inference_ms", json::object()}, {"series", json::object()},
                 {"memory", json::object()}, {"probes", json::object()}, {"windows", json::object()},
                 {"snapshots", {{"before", read_snapshots(job.value("snapshots", json::object()))}}},
                 {"measure_s", 0.0}, {"held_s", 0.0}, {"outputs", nullptr}};
  if (result["env"].contains("llama_cpp_error")) {
    result["error"] = "RuntimeError: " + result["env"]["llama_cpp_error"].get<std::string>();
    return result;
  }
  const std::string out_dir = job.at("out_dir").get<std::string>();
  ProbeSampler sampler(job.value("probes", json::array()));
  sampler.start();
  double watch = 0;
  std::string phase = "idle window";
  try {
    // the power probe's idle baseline (energy per token is net of it), as the ORT runner's
    const double idle_s = job.contains("idle_s") && job["idle_s"].is_number() ? job["idle_s"].get<double>() : 0.0;
    if (idle_s > 0) {
      const double t0 = monotonic_s();
      sleep_s(idle_s);
      result["windows"]["idle"] = {t0, monotonic_s()};
    }
    phase = "the job";
    const std::string kind = job.value("kind", std::string());
    if (kind != "llm") throw std::runtime_error("ValueError: the LLM runner runs jobs of kind 'llm', not '" + kind + "'");
    const double held = hold_for_go(job.value("handoff_s", 0.0), stdin_fd);
    watch += held;
    result["held_s"] = held;
    phase = "kind llm";
    const Outputs outputs = run_llm(job, result, watch);
    if (job.value("save_outputs", true) && !outputs.empty()) {
      write_npz(out_dir + "/outputs.npz", outputs);
      result["outputs"] = "outputs.npz";
    }
    result["status"] = "ok";
  } catch (const json::exception& e) {
    result["error"] = std::string("ValueError: bad job field: ") + e.what();
    result["traceback"] = "native LLM runner, in " + phase;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    result["error"] = what.rfind("ValueError: ", 0) == 0 ? what : "RuntimeError: " + what;
    result["traceback"] = "native LLM runner, in " + phase;
  }
  result["probes"] = sampler.stop();
  result["snapshots"]["after"] = read_snapshots(job.value("snapshots", json::object()));
  result["measure_s"] = watch;
  return result;
}

int run_file(const std::string& path, int stdin_fd) {
  json job;
  if (!read_job_file(path, "llm_runner", job)) return 2;
  if (!job.is_object() || job.value("protocol", 0) != kProtocol || !job.contains("out_dir") || !job["out_dir"].is_string()) {
    std::cerr << "llm_runner: " << path << " is not a protocol 1 job (protocol 1 and out_dir needed)\n";
    return 2;
  }
  const std::string out_dir = job["out_dir"].get<std::string>();
  make_dirs(out_dir);
  const json result = run_job(job, stdin_fd);
  write_json_atomic(out_dir + "/result.json", result);
  return result["status"] == "ok" ? 0 : 1;
}

// ---------------------------------------------------------------- host tools
struct FtypeName {
  const char* name;
  llama_ftype ftype;
};
const FtypeName kFtypes[] = {
    {"F32", LLAMA_FTYPE_ALL_F32},       {"F16", LLAMA_FTYPE_MOSTLY_F16},       {"BF16", LLAMA_FTYPE_MOSTLY_BF16},
    {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},  {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M},
    {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},  {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S},
    {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},  {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M},
    {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},
};

int quantize(const std::string& in, const std::string& out, const std::string& type, int threads) {
  init_llama();
  for (const auto& f : kFtypes) {
    if (type == f.name) {
      llama_model_quantize_params p = llama_model_quantize_default_params();
      p.ftype = f.ftype;
      p.nthread = threads;
      p.allow_requantize = true;  // the reference may itself be a quantized file's dequantization
      const uint32_t rc = llama_model_quantize(in.c_str(), out.c_str(), &p);
      if (rc != 0) {
        std::cerr << "llm_runner: llama_model_quantize " << in << " -> " << type << " failed (" << rc << ")" << log_tail() << "\n";
        return 1;
      }
      return 0;
    }
  }
  std::cerr << "llm_runner: unknown GGUF type " << type << "; known:";
  for (const auto& f : kFtypes) std::cerr << " " << f.name;
  std::cerr << "\n";
  return 2;
}

void write_npy(const std::string& path, const Array& a) {
  const std::vector<uint8_t> bytes = npy_bytes(a);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::vector<llama_token> read_ids(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const Array a = parse_npy(bytes.data(), bytes.size(), path);
  if (a.descr != "<i4") throw std::runtime_error(path + ": token ids must be int32 (<i4), got " + a.descr);
  std::vector<llama_token> ids(static_cast<size_t>(a.size()));
  std::memcpy(ids.data(), a.data.data(), ids.size() * 4);
  return ids;
}

int tokenize(const std::string& model_path, const std::string& text_path, const std::string& out) {
  std::ifstream f(text_path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + text_path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  init_llama();
  llama_model_params p = llama_model_default_params();
  p.vocab_only = true;
  llama_model* m = llama_model_load_from_file(model_path.c_str(), p);
  if (!m) throw std::runtime_error("llama.cpp could not load " + model_path + log_tail());
  const llama_vocab* v = llama_model_get_vocab(m);
  const int n = -llama_tokenize(v, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, true, false);
  std::vector<llama_token> ids(static_cast<size_t>(n));
  const int got = llama_tokenize(v, text.data(), static_cast<int32_t>(text.size()), ids.data(), n, true, false);
  llama_model_free(m);
  if (got != n) throw std::runtime_error("tokenizing " + text_path + " gave " + std::to_string(got) + " of " + std::to_string(n) + " tokens");
  Array a{"<i4", {n}, std::vector<uint8_t>(static_cast<size_t>(n) * 4)};
  std::memcpy(a.data.data(), ids.data(), a.data.size());
  write_npy(out, a);
  return 0;
}

// Logits of every position, the KV cache cleared at each chunk of n_ctx ids (llama-perplexity's
// chunks; the host scores each chunk's second half, which has at least n_ctx/2 tokens of context).
int logits(const std::string& model_path, const std::string& ids_path, const std::string& out, int n_ctx, int threads) {
  const std::vector<llama_token> ids = read_ids(ids_path);
  Model model(model_path);
  const int n_vocab = model.n_vocab();
  const int n = static_cast<int>(ids.size()) / n_ctx * n_ctx;
  if (n == 0) throw std::runtime_error(ids_path + " holds fewer ids than one chunk of " + std::to_string(n_ctx));
  Context ctx(model, static_cast<uint32_t>(n_ctx), static_cast<uint32_t>(n_ctx), static_cast<uint32_t>(n_ctx), threads, true);
  // .npy header, then rows as they come (float32 [n, n_vocab])
  Array head{"<f4", {n, n_vocab}, {}};
  std::vector<uint8_t> header = npy_bytes(head);
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
  Batch batch(n_ctx);
  for (int c = 0; c < n; c += n_ctx) {
    llama_memory_clear(ctx.mem(), true);
    batch.fill(ids.data() + c, n_ctx, 0, true);
    decode(ctx, batch, "the logits pass");
    for (int i = 0; i < n_ctx; ++i) {
      const float* row = llama_get_logits_ith(ctx.c, i);
      f.write(reinterpret_cast<const char*>(row), static_cast<std::streamsize>(sizeof(float) * n_vocab));
    }
  }
  if (!f) throw std::runtime_error("cannot write " + out);
  return 0;
}

int greedy(const std::string& model_path, const std::string& ids_path, int n_gen, const std::string& out, int threads) {
  const std::vector<llama_token> ids = read_ids(ids_path);
  Model model(model_path);
  const int n_vocab = model.n_vocab();
  const int n = static_cast<int>(ids.size());
  Context ctx(model, static_cast<uint32_t>(n + n_gen + 1), 512, 512, threads, false);
  prefill(ctx, ids.data(), n, 512, "the greedy prompt");
  Array a{"<i4", {n_gen}, std::vector<uint8_t>(static_cast<size_t>(n_gen) * 4)};
  Batch one(1);
  llama_token tok = argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);
  for (int i = 0; i < n_gen; ++i) {
    std::memcpy(a.data.data() + 4 * i, &tok, 4);
    if (i + 1 == n_gen) break;
    one.fill(&tok, 1, n + i, true);
    decode(ctx, one, "greedy generation");
    tok = argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);
  }
  write_npy(out, a);
  return 0;
}

// ---------------------------------------------------------------- prefill vs llama-bench, in one process
// --ab-llama-bench: the runner's pp timing against llama-bench's, alternated in ONE process so the host's
// noise (which moves a whole process by +-10 % here) hits both sides alike. Two comparisons:
//   calls: one context made llama-bench's way; llama-bench's test_prompt and the runner's prefill, call by call;
//   tests: each side's whole pp test on a fresh context: the runner's (thread pool, then its context, first
//          inference + warm-up, its ids, its batch) and llama-bench's (context, then pool, one warm-up run,
//          fresh random ids per repetition); each test's median repetition.
// Each sample is kept as wall seconds and the thread's CPU seconds (time the host took the core away excluded).

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// llama-bench's test_prompt, as tools/llama-bench/llama-bench.cpp of llama.cpp v0.5.0 has it (MIT, the
// llama.cpp authors): the token vector allocated, and random ids drawn, inside the timed part.
bool llama_bench_test_prompt(llama_context* ctx, int n_prompt, int n_batch, int n_threads) {
  llama_set_n_threads(ctx, n_threads, n_threads);
  const llama_model* model = llama_get_model(ctx);
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  std::vector<llama_token> tokens(n_batch);
  int n_processed = 0;
  while (n_processed < n_prompt) {
    int n_tokens = std::min(n_prompt - n_processed, n_batch);
    tokens[0] = n_processed == 0 && llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : std::rand() % n_vocab;
    for (int i = 1; i < n_tokens; i++) tokens[i] = std::rand() % n_vocab;
    if (llama_decode(ctx, llama_batch_get_one(tokens.data(), n_tokens)) != 0) return false;
    n_processed += n_tokens;
  }
  llama_synchronize(ctx);
  return true;
}

// llama-bench's context for a pp test (to_llama_cparams with the flags the runner records)
llama_context_params llama_bench_cparams(uint32_t n_ctx, uint32_t n_batch, uint32_t n_ubatch) {
  llama_context_params p = llama_context_default_params();
  p.n_ctx = n_ctx;
  p.n_batch = n_batch;
  p.n_ubatch = n_ubatch;
  p.type_k = GGML_TYPE_F16;
  p.type_v = GGML_TYPE_F16;
  p.offload_kqv = true;
  p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO;
  p.embeddings = false;
  p.op_offload = true;
  p.swa_full = false;
  return p;
}

struct Timed {
  double wall = 0, cpu = 0;
};

template <typename F>
Timed timed(F&& fn) {
  const double c0 = thread_cpu_s();
  const double t0 = perf_s();
  fn();
  return {perf_s() - t0, thread_cpu_s() - c0};
}

Timed median_of(std::vector<Timed> v) {
  std::vector<double> w, c;
  for (const auto& t : v) { w.push_back(t.wall); c.push_back(t.cpu); }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

int ab_llama_bench(const std::string& model_path, int pp, int pairs, int threads) {
  if (pp <= 0 || pairs <= 0 || threads <= 0) throw std::runtime_error("--ab-llama-bench needs PP, PAIRS and THREADS > 0");
  Model model(model_path);
  const int n_vocab = model.n_vocab();
  const int poll = 50, n_batch = 2048, n_ubatch = 512, reps = 5;
  std::srand(1);
  std::vector<llama_token> ids;
  for (int i = 0; i < pp; ++i) ids.push_back(std::rand() % n_vocab);
  json calls = {{"runner_s", json::array()}, {"llama_bench_s", json::array()}, {"runner_cpu_s", json::array()},
                {"llama_bench_cpu_s", json::array()}};
  json tests = calls;
  auto keep = [](json& into, const char* who, const Timed& t) {
    into[std::string(who) + "_s"].push_back(t.wall);
    into[std::string(who) + "_cpu_s"].push_back(t.cpu);
  };
  auto test_prompt = [&](llama_context* c) {
    if (!llama_bench_test_prompt(c, pp, n_batch, threads)) throw std::runtime_error("llama_decode failed in test_prompt" + log_tail());
  };
  std::string settings;
  {  // calls: one context, llama-bench's; the two bodies alternate, each after the same KV clear
    llama_context* c = llama_init_from_model(model.m, llama_bench_cparams(pp, n_batch, n_ubatch));
    if (!c) throw std::runtime_error("llama.cpp could not create a context" + log_tail());
    ThreadPool pool(threads, poll);
    Context ctx(c);
    llama_attach_threadpool(c, pool.p, nullptr);
    settings = ctx.describe(static_cast<uint32_t>(pp));
    const int step = static_cast<int>(llama_n_batch(ctx.c));
    Batch batch(std::min(pp, step));
    auto theirs = [&]() {
      llama_memory_clear(ctx.mem(), false);
      return timed([&]() { test_prompt(ctx.c); });
    };
    auto ours = [&]() {
      llama_memory_clear(ctx.mem(), false);
      return timed([&]() { prefill(ctx, batch, step, ids.data(), pp, "prompt processing"); });
    };
    theirs();  // llama-bench's warm-up run, then the runner's first call
    ours();
    for (int i = 0; i < pairs; ++i) {
      if (i % 2) { keep(calls, "llama_bench", theirs()); keep(calls, "runner", ours()); }
      else { keep(calls, "runner", ours()); keep(calls, "llama_bench", theirs()); }
    }
  }
  // tests: each side's whole pp test, fresh context and pool each time, as each tool runs it
  const Rule rule(json{{"warmup", 1}, {"warmup_s", 0.0}, {"min_iterations", reps}, {"min_seconds", 0.0},
                       {"max_iterations", reps}, {"max_seconds", 600.0}});
  auto runner_test = [&]() {
    ThreadPool pool(threads, poll);
    Context ctx(model, static_cast<uint32_t>(pp), n_batch, n_ubatch, threads, false, &pool);
    const int step = static_cast<int>(llama_n_batch(ctx.c));
    Batch batch(std::min(pp, step));
    std::vector<Timed> got;
    auto rep = [&]() {
      llama_memory_clear(ctx.mem(), false);
      const Timed t = timed([&]() { prefill(ctx, batch, step, ids.data(), pp, "prompt processing"); });
      argmax(llama_get_logits_ith(ctx.c, -1), n_vocab);
      got.push_back(t);
      return t.wall;
    };
    rep();  // the first inference, then the stopping rule's warm-up and repetitions
    measure_rule(rep, rule);
    return median_of(std::vector<Timed>(got.end() - reps, got.end()));
  };
  auto llama_bench_test = [&]() {
    llama_context* c = llama_init_from_model(model.m, llama_bench_cparams(pp, n_batch, n_ubatch));
    if (!c) throw std::runtime_error("llama.cpp could not create a context" + log_tail());
    llama_memory_clear(llama_get_memory(c), false);
    ThreadPool pool(threads, poll);  // made after the context, as llama-bench does; freed after it
    Context ctx(c);
    llama_attach_threadpool(ctx.c, pool.p, nullptr);
    test_prompt(ctx.c);  // warm-up run
    std::vector<Timed> got;
    for (int i = 0; i < reps; ++i) {
      llama_memory_clear(ctx.mem(), false);
      got.push_back(timed([&]() { test_prompt(ctx.c); }));
    }
    return median_of(got);
  };
  const int n_tests = std::max(2, pairs / 4);
  for (int i = 0; i < n_tests; ++i) {
    if (i % 2) { keep(tests, "llama_bench", llama_bench_test()); keep(tests, "runner", runner_test()); }
    else { keep(tests, "runner", runner_test()); keep(tests, "llama_bench", llama_bench_test()); }
  }
  const json out = {{"pp", pp}, {"threads", threads}, {"pairs", pairs}, {"tests_per_side", n_tests}, {"context", settings},
                    {"calls", calls}, {"tests", tests}};
  std::cout << dump(out) << std::endl;
  return 0;
}

int usage() {
  std::cerr << "usage: llm_runner JOB_JSON | --job-from-stdin | --probe\n"
               "       llm_runner --quantize IN.gguf OUT.gguf TYPE [THREADS]\n"
               "       llm_runner --tokenize MODEL.gguf TEXT_FILE OUT.npy\n"
               "       llm_runner --logits MODEL.gguf IDS.npy OUT.npy CTX THREADS\n"
               "       llm_runner --greedy MODEL.gguf IDS.npy N OUT.npy THREADS\n"
               "       llm_runner --ab-llama-bench MODEL.gguf PP PAIRS THREADS   (prefill vs llama-bench's test_prompt, one process)\n";
  return 2;
}

}  // namespace
}  // namespace runner

int main(int argc, char** argv) {
  using namespace runner;
  signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 1 && a[0] == "--probe") {
      const json facts = env_facts();
      std::cout << dump(facts) << std::endl;
      return facts.contains("llama_cpp_error") ? 3 : 0;
    }
    if (!a.empty() && a[0] == "--quantize" && (a.size() == 4 || a.size() == 5)) {
      return quantize(a[1], a[2], a[3], a.size() == 5 ? std::stoi(a[4]) : 0);
    }
    if (a.size() == 4 && a[0] == "--tokenize") return tokenize(a[1], a[2], a[3]);
    if (a.size() == 6 && a[0] == "--logits") return logits(a[1], a[2], a[3], std::stoi(a[4]), std::stoi(a[5]));
    if (a.size() == 5 && a[0] == "--ab-llama-bench") return ab_llama_bench(a[1], std::stoi(a[2]), std::stoi(a[3]), std::stoi(a[4]));
    if (a.size() == 6 && a[0] == "--greedy") return greedy(a[1], a[2], std::stoi(a[3]), a[4], std::stoi(a[5]));
    if (a.size() == 1 && a[0] == "--job-from-stdin") {
      const std::string path = job_path_from_stdin();
      return path.empty() ? 0 : run_file(path, 0);
    }
    if (a.size() == 1 && a[0].rfind("--", 0) != 0) return run_file(a[0], -1);
  } catch (const std::exception& e) {
    std::cerr << "llm_runner: " << e.what() << "\n";
    return 1;
  }
  return usage();
}
