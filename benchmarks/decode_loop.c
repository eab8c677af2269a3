/* A greedy decode loop in C over ONNX Runtime's C API, for benchmarks/test_decode_interpreter_cost.py.
 *
 * Loaded with ctypes into a Python process, it runs decode steps with no interpreter between them, on
 * the library the native runner links (the wheel's libonnxruntime.so, dlopen'ed by path), timing each
 * step as the native runner's lm_generate and the agent's bound path do: the Run call alone, on feeds
 * made before it, the cache handed on after it, the argmax outside. Built by the benchmark with the
 * host's cc against the headers the native runner is built with; not part of the product.
 *
 * The model: the text-lm's I/O (input_ids, attention_mask, position_ids, past_key_values.N.key/value
 * [batch, kv_heads, past, head_dim] -> logits [batch, seq, vocab], present.N.key/value).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxruntime_c_api.h"

#define MAX_IO 64

static const OrtApi* api;
static OrtEnv* env;
static OrtSession* sess;
static OrtMemoryInfo* cpu;
static char* in_names[MAX_IO];
static char* out_names[MAX_IO];
static size_t n_in, n_out;
static int64_t kv_heads, head_dim, vocab;
static char error[512];

static int failed(OrtStatus* st) {
  if (!st) return 0;
  snprintf(error, sizeof error, "%s", api->GetErrorMessage(st));
  api->ReleaseStatus(st);
  return 1;
}
#define CHECK(x) \
  do {                       \
    if (failed(x)) return -1; \
  } while (0)

const char* dl_error(void) { return error; }

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int static_dims(OrtTypeInfo* info, int64_t* dims, size_t n) {
  const OrtTensorTypeAndShapeInfo* t;
  size_t count;
  CHECK(api->CastTypeInfoToTensorInfo(info, &t));
  CHECK(api->GetDimensionsCount(t, &count));
  if (count != n) {
    snprintf(error, sizeof error, "expected %zu dimensions, found %zu", n, count);
    return -1;
  }
  CHECK(api->GetDimensions(t, dims, n));
  return 0;
}

/* One generation's state, so that the loop can be driven from C (dl_generate) or from Python (dl_begin,
 * then per step dl_feed, dl_run timed by the caller, dl_hand_on): the same code either way. */
static struct {
  int64_t p_len, n_tokens, *tokens, *ones, *positions, token[1];
  OrtValue *in[MAX_IO], *out[MAX_IO], *next[MAX_IO];
  const OrtValue* feeds[MAX_IO];
  const char *in_list[MAX_IO], *out_list[MAX_IO];
  size_t past_from[MAX_IO]; /* per input: the output that feeds it at the next step (n_out: none) */
  size_t logits_at;
} g;

static void release_all(void) {
  for (size_t i = 0; i < MAX_IO; ++i) {
    if (g.in[i]) api->ReleaseValue(g.in[i]);
    if (g.out[i]) api->ReleaseValue(g.out[i]);
    if (g.next[i]) api->ReleaseValue(g.next[i]);
    g.in[i] = g.out[i] = g.next[i] = NULL;
  }
  free(g.ones);
  free(g.positions);
  g.ones = g.positions = NULL;
}

/* The n static dimensions of the session's input or output i (type_of: SessionGetInput/OutputTypeInfo). */
static int io_dims(OrtStatus* (ORT_API_CALL* type_of)(const OrtSession*, size_t, OrtTypeInfo**), size_t i,
                   int64_t* dims, size_t n) {
  OrtTypeInfo* info;
  CHECK(type_of(sess, i, &info));
  const int bad = static_dims(info, dims, n);
  api->ReleaseTypeInfo(info);
  return bad ? -1 : 0;
}

/* Load the library and the model (a model loaded before is let go); 0 or -1 (dl_error says why). */
int dl_init(const char* library, const char* model, int threads) {
  if (sess) { /* the last generation's tensors first: the session's allocator holds them */
    OrtAllocator* a;
    release_all();
    if (!failed(api->GetAllocatorWithDefaultOptions(&a))) {
      for (size_t i = 0; i < n_in; ++i) a->Free(a, in_names[i]);
      for (size_t i = 0; i < n_out; ++i) a->Free(a, out_names[i]);
    }
    api->ReleaseSession(sess);
    sess = NULL;
  }
  kv_heads = head_dim = vocab = 0;
  void* h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(error, sizeof error, "%s", dlerror());
    return -1;
  }
  const OrtApiBase* (*base)(void) = (const OrtApiBase* (*)(void))dlsym(h, "OrtGetApiBase");
  if (!base || !(api = base()->GetApi(ORT_API_VERSION))) {
    snprintf(error, sizeof error, "%s has no ORT API version %d", library, ORT_API_VERSION);
    return -1;
  }
  OrtSessionOptions* so;
  OrtAllocator* alloc;
  if (!env) CHECK(api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "decode-loop", &env));
  CHECK(api->CreateSessionOptions(&so));
  CHECK(api->SetIntraOpNumThreads(so, threads));
  CHECK(api->SetInterOpNumThreads(so, 1));
  CHECK(api->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL));
  CHECK(api->CreateSession(env, model, so, &sess));
  api->ReleaseSessionOptions(so);
  if (!cpu) CHECK(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &cpu));
  CHECK(api->GetAllocatorWithDefaultOptions(&alloc));
  CHECK(api->SessionGetInputCount(sess, &n_in));
  CHECK(api->SessionGetOutputCount(sess, &n_out));
  if (n_in > MAX_IO || n_out > MAX_IO) {
    snprintf(error, sizeof error, "more than %d inputs or outputs", MAX_IO);
    return -1;
  }
  for (size_t i = 0; i < n_in; ++i) {
    int64_t dims[4];
    CHECK(api->SessionGetInputName(sess, i, alloc, &in_names[i]));
    if (strncmp(in_names[i], "past_key_values.", 16) == 0 && !head_dim) {
      if (io_dims(api->SessionGetInputTypeInfo, i, dims, 4)) return -1;
      kv_heads = dims[1];
      head_dim = dims[3];
    }
  }
  for (size_t i = 0; i < n_out; ++i) {
    int64_t dims[3];
    CHECK(api->SessionGetOutputName(sess, i, alloc, &out_names[i]));
    if (strcmp(out_names[i], "logits") == 0) {
      if (io_dims(api->SessionGetOutputTypeInfo, i, dims, 3)) return -1;
      vocab = dims[2];
    }
  }
  if (!head_dim || !vocab) {
    snprintf(error, sizeof error, "not a decoder with a KV cache (past_key_values.* inputs, logits output)");
    return -1;
  }
  return 0;
}

static int64_t argmax_last(OrtValue* logits, int64_t rows) {
  float* p;
  if (failed(api->GetTensorMutableData(logits, (void**)&p))) return -1;
  const float* last = p + (rows - 1) * vocab;
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (last[v] > last[best]) best = v;
  return best;
}

static size_t out_index(const char* name) {
  for (size_t i = 0; i < n_out; ++i)
    if (strcmp(out_names[i], name) == 0) return i;
  return n_out;
}

/* input i, when it is not the cache: the step's token (input_ids, decode steps only), the mask of total
 * ones, n positions from first. */
static int small_feed(size_t i, int64_t first, int64_t n, int64_t total) {
  const char* name = in_names[i];
  int64_t shape[2] = {1, n}, mask_shape[2] = {1, total};
  const ONNXTensorElementDataType i64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  if (strcmp(name, "input_ids") == 0)
    return failed(api->CreateTensorWithDataAsOrtValue(cpu, g.token, sizeof g.token, shape, 2, i64, &g.in[i]));
  if (strcmp(name, "attention_mask") == 0)
    return failed(api->CreateTensorWithDataAsOrtValue(cpu, g.ones, sizeof(int64_t) * (size_t)total, mask_shape, 2,
                                                      i64, &g.in[i]));
  if (strcmp(name, "position_ids") == 0)
    return failed(api->CreateTensorWithDataAsOrtValue(cpu, g.positions + first, sizeof(int64_t) * (size_t)n, shape,
                                                      2, i64, &g.in[i]));
  snprintf(error, sizeof error, "input %s: not an input of the text-lm's I/O", name);
  return 1;
}

static int64_t prompt_ids[4096];

/* The prefill of one generation of n_tokens greedy tokens (into tokens; tokens[0] on return): 0 or -1. */
int dl_begin(const int64_t* prompt, int64_t p_len, int64_t n_tokens, int64_t* tokens) {
  static float none = 0;
  if (p_len > 4096) {
    snprintf(error, sizeof error, "a prompt of %lld tokens: at most 4096", (long long)p_len);
    return -1;
  }
  release_all();
  memcpy(prompt_ids, prompt, sizeof(int64_t) * (size_t)p_len);
  g.p_len = p_len;
  g.n_tokens = n_tokens;
  g.tokens = tokens;
  const int64_t longest = p_len + n_tokens;
  g.ones = malloc(sizeof(int64_t) * (size_t)longest);
  g.positions = malloc(sizeof(int64_t) * (size_t)longest);
  for (int64_t i = 0; i < longest; ++i) {
    g.ones[i] = 1;
    g.positions[i] = i;
  }
  for (size_t i = 0; i < n_in; ++i) {
    char present[256];
    g.in_list[i] = in_names[i];
    g.past_from[i] = n_out;
    if (strncmp(in_names[i], "past_key_values.", 16) == 0) {
      snprintf(present, sizeof present, "present.%s", in_names[i] + 16);
      g.past_from[i] = out_index(present);
    }
  }
  for (size_t i = 0; i < n_out; ++i) g.out_list[i] = out_names[i];
  g.logits_at = out_index("logits");
  for (size_t i = 0; i < n_in; ++i) {
    int64_t ids_shape[2] = {1, p_len}, past_shape[4] = {1, kv_heads, 0, head_dim};
    OrtStatus* st;
    if (g.past_from[i] < n_out)
      st = api->CreateTensorWithDataAsOrtValue(cpu, &none, 0, past_shape, 4, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                               &g.in[i]);
    else if (strcmp(in_names[i], "input_ids") == 0)
      st = api->CreateTensorWithDataAsOrtValue(cpu, prompt_ids, sizeof(int64_t) * (size_t)p_len, ids_shape, 2,
                                               ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, &g.in[i]);
    else {
      if (small_feed(i, 0, p_len, p_len)) return -1;
      continue;
    }
    if (failed(st)) return -1;
  }
  CHECK(api->Run(sess, NULL, g.in_list, (const OrtValue* const*)g.in, n_in, g.out_list, n_out, g.out));
  for (size_t i = 0; i < n_in; ++i) {
    api->ReleaseValue(g.in[i]);
    g.in[i] = NULL;
  }
  tokens[0] = argmax_last(g.out[g.logits_at], p_len);
  return tokens[0] < 0 ? -1 : 0;
}

/* Decode step s (1 .. n_tokens-1), before its timed call: its feeds (the last token, mask, position) made,
 * the last step's present.* as its past_key_values.*: 0 or -1. */
int dl_feed(int64_t s) {
  const int64_t total = g.p_len + s;
  g.token[0] = g.tokens[s - 1];
  for (size_t i = 0; i < n_in; ++i) {
    if (g.past_from[i] < n_out) {
      g.feeds[i] = g.out[g.past_from[i]];
      continue;
    }
    if (small_feed(i, total - 1, 1, total)) return -1;
    g.feeds[i] = g.in[i];
  }
  return 0;
}

/* The timed part of a decode step: the Run alone. */
int dl_run(void) {
  CHECK(api->Run(sess, NULL, g.in_list, g.feeds, n_in, g.out_list, n_out, g.next));
  return 0;
}

/* After step s's timed call: the feeds released, the outputs kept as the next step's cache, the greedy
 * token into tokens[s]: 0 or -1. */
int dl_hand_on(int64_t s) {
  for (size_t i = 0; i < n_in; ++i) {
    if (g.in[i]) api->ReleaseValue(g.in[i]);
    g.in[i] = NULL;
  }
  for (size_t i = 0; i < n_out; ++i) {
    api->ReleaseValue(g.out[i]);
    g.out[i] = g.next[i];
    g.next[i] = NULL;
  }
  g.tokens[s] = argmax_last(g.out[g.logits_at], 1);
  return g.tokens[s] < 0 ? -1 : 0;
}

/* A whole greedy generation driven from C: each decode step's Run timed into step_ms[s-1]: 0 or -1. */
int dl_generate(const int64_t* prompt, int64_t p_len, int64_t n_tokens, double* step_ms, int64_t* tokens) {
  if (dl_begin(prompt, p_len, n_tokens, tokens)) return -1;
  for (int64_t s = 1; s < n_tokens; ++s) {
    if (dl_feed(s)) return -1;
    const double t0 = now_ms();
    const int rc = dl_run();
    step_ms[s - 1] = now_ms() - t0;
    if (rc || dl_hand_on(s)) return -1;
  }
  return 0;
}
