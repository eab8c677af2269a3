// The job kinds: single, text-generation (KV cache), translation (encoder / decoder /
// decoder_with_past), llm (llama-bench's tests). Each mirrors the agent's function of the same name.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "clock.hpp"
#include "job.hpp"

namespace runner {
namespace {

const char* const kPast = "past_key_values.";
const char* const kPresent = "present.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Times calls like measure() does (same test_slowdown knob); ms per call.
struct Timer {
  double slowdown;
  template <typename F>
  double call(F&& fn) const {
    return timed_call(fn, slowdown) * 1000.0;
  }
};

// np.argmax of logits[0, -1] (the first maximum; a NaN wins, as in numpy).
int64_t argmax_last(const Ort::Value& logits) {
  const std::vector<int64_t> shape = tensor_shape(logits);
  if (shape.size() != 3) throw JobError("ValueError", "logits must be [batch, positions, vocab]");
  const int64_t v = shape[2];
  const std::vector<float> row = float_row(logits, (shape[1] - 1) * v, v);
  int64_t best = 0;
  for (int64_t i = 0; i < v; ++i) {
    if (std::isnan(row[i])) return i;
    if (row[i] > row[best]) best = i;
  }
  return best;
}

// logits[0, -1] as a float32 row.
std::vector<float> last_row(const Ort::Value& logits) {
  const std::vector<int64_t> shape = tensor_shape(logits);
  return float_row(logits, (shape[1] - 1) * shape[2], shape[2]);
}

Array rows_array(const std::vector<std::vector<float>>& rows) {
  Array a;
  a.descr = "<f4";
  a.shape = {static_cast<int64_t>(rows.size()), rows.empty() ? 0 : static_cast<int64_t>(rows[0].size())};
  for (const auto& r : rows) {
    const auto* p = reinterpret_cast<const uint8_t*>(r.data());
    a.data.insert(a.data.end(), p, p + r.size() * sizeof(float));
  }
  return a;
}

Array tokens_array(const std::vector<int64_t>& tokens) {
  Array a;
  a.descr = "<i8";
  a.shape = {static_cast<int64_t>(tokens.size())};
  const auto* p = reinterpret_cast<const uint8_t*>(tokens.data());
  a.data.assign(p, p + tokens.size() * sizeof(int64_t));
  return a;
}

// An integer array as int64 (np.asarray(ids, dtype=np.int64)).
Array as_int64(const Array& a) {
  if (a.descr == "<i8") return a;
  Array out{"<i8", a.shape, {}};
  out.data.resize(static_cast<size_t>(a.size()) * 8);
  auto* dst = reinterpret_cast<int64_t*>(out.data.data());
  for (int64_t i = 0; i < a.size(); ++i) {
    const uint8_t* p = a.data.data() + i * a.itemsize();
    int64_t v = 0;
    if (a.descr == "<i4") { int32_t x; std::memcpy(&x, p, 4); v = x; }
    else if (a.descr == "<i2") { int16_t x; std::memcpy(&x, p, 2); v = x; }
    else if (a.descr == "|i1") { v = static_cast<int8_t>(*p); }
    else if (a.descr == "|u1" || a.descr == "|b1") { v = *p; }
    else if (a.descr == "<u4") { uint32_t x; std::memcpy(&x, p, 4); v = x; }
    else if (a.descr == "<u2") { uint16_t x; std::memcpy(&x, p, 2); v = x; }
    else throw JobError("ValueError", "token ids must be integers, got dtype '" + a.descr + "'");
    dst[i] = v;
  }
  return out;
}

// Zero-length past tensors for every past input: dim 0 the batch, dim 2 the past length.
Named empty_past(const Model& m, int64_t batch, const std::string& prefix = kPast) {
  Named past;
  for (const auto& meta : m.inputs()) {
    if (!starts_with(meta.name, prefix)) continue;
    std::vector<int64_t> shape;
    for (size_t i = 0; i < meta.shape.size(); ++i) {
      if (i == 0) {
        shape.push_back(batch);
      } else if (i == 2) {
        shape.push_back(0);
      } else if (meta.shape[i] >= 0) {
        shape.push_back(meta.shape[i]);
      } else {
        throw JobError("ValueError", "cannot size input " + meta.name + ": dim " + std::to_string(i) +
                                         " is symbolic ('" + meta.symbols[i] + "')");
      }
    }
    ONNXTensorElementDataType type = meta.type;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE) {
      type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    past[meta.name] = owned_tensor(type, shape);
  }
  return past;
}

// present.N.x -> past_key_values.N.x (optionally only names containing `only`).
Named present_to_past(const Named& named, const std::string& only = "") {
  Named past;
  for (const auto& kv : named) {
    if (starts_with(kv.first, kPresent) && (only.empty() || kv.first.find(only) != std::string::npos)) {
      past[std::string(kPast) + kv.first.substr(std::strlen(kPresent))] = kv.second;
    }
  }
  return past;
}

const Ort::Value& output(const Named& named, const std::string& name) {
  const auto it = named.find(name);
  if (it == named.end()) throw JobError("KeyError", "'" + name + "'");
  return *it->second;
}

struct Generation {
  std::vector<int64_t> tokens;
  double ttft_ms = 0;
  std::vector<double> step_ms;
  Array prefill_logits;                   // with keep: logits[0] as float32 [P, V]
  std::vector<std::vector<float>> steps;  // with keep: the distribution each token was picked from
};

// Greedy generation with KV cache: prefill (the first token), then n_tokens-1 decode steps.
// A model without past_key_values inputs re-runs the whole sequence at each step.
Generation lm_generate(Model& sess, const Array& prompt, int64_t n_tokens, const Timer& timer, bool keep) {
  bool cached = false;
  for (const auto& m : sess.inputs()) cached = cached || starts_with(m.name, kPast);
  const Array ids64 = as_int64(prompt);
  std::vector<int64_t> prompt_ids(reinterpret_cast<const int64_t*>(ids64.data.data()),
                                  reinterpret_cast<const int64_t*>(ids64.data.data()) + ids64.size());
  const auto p_len = static_cast<int64_t>(prompt_ids.size());

  auto feeds_for = [&](const std::vector<int64_t>& ids, int64_t total, const Named& past) {
    Named feeds;
    const auto n = static_cast<int64_t>(ids.size());
    feeds["input_ids"] = int64_tensor(ids, {1, n});
    if (sess.has_input("attention_mask")) {
      feeds["attention_mask"] = int64_tensor(std::vector<int64_t>(static_cast<size_t>(total), 1), {1, total});
    }
    if (sess.has_input("position_ids")) {
      std::vector<int64_t> pos;
      for (int64_t i = total - n; i < total; ++i) pos.push_back(i);
      feeds["position_ids"] = int64_tensor(pos, {1, n});
    }
    for (const auto& kv : past) feeds[kv.first] = kv.second;
    return feeds;
  };

  Generation out;
  Named named;
  out.ttft_ms = timer.call([&] { named = sess.run(feeds_for(prompt_ids, p_len, empty_past(sess, 1))); });
  Named past = present_to_past(named);
  out.tokens.push_back(argmax_last(output(named, "logits")));
  if (keep) {
    const Ort::Value& logits = output(named, "logits");
    const std::vector<int64_t> shape = tensor_shape(logits);
    out.prefill_logits.descr = "<f4";
    out.prefill_logits.shape = {shape[1], shape[2]};
    const std::vector<float> all = float_row(logits, 0, shape[1] * shape[2]);
    const auto* p = reinterpret_cast<const uint8_t*>(all.data());
    out.prefill_logits.data.assign(p, p + all.size() * sizeof(float));
    out.steps.push_back(last_row(logits));
  }
  int64_t total = p_len;
  for (int64_t s = 0; s < n_tokens - 1; ++s) {
    total += 1;
    std::vector<int64_t> ids;
    if (cached) {
      ids = {out.tokens.back()};
    } else {
      ids = prompt_ids;
      ids.insert(ids.end(), out.tokens.begin(), out.tokens.end());
    }
    // A decode step's timed region is the Run call alone, as the agent's default path times it
    // (agent.py, _BoundSteps.decode): the feeds are made before it and the cache handed on after
    // it. Measured here (text-lm, 1 thread): this runner's map of named tensors costs 3-7 us a step
    // before Run and 9-12 us after (present -> past, the last cache released), bookkeeping an
    // app's loop over the C API need not pay. Model::run's name vectors and output map stay inside.
    Named feeds = feeds_for(ids, total, past);
    Named next;
    const double ms = timer.call([&] { next = sess.run(feeds); });
    named.swap(next);
    past = present_to_past(named);
    out.step_ms.push_back(ms);
    out.tokens.push_back(argmax_last(output(named, "logits")));
    if (keep) out.steps.push_back(last_row(output(named, "logits")));
  }
  return out;
}

struct Translation {
  std::vector<int64_t> tokens;
  double encoder_ms = 0, first_ms = 0;
  std::vector<double> step_ms;
  std::vector<std::vector<float>> logits;
  Array encoder_hidden;
};

// Encoder once, decoder for the first token, decoder_with_past for the rest (greedy).
// Always generates n_tokens (no early stop at EOS) so every run does the same work.
Translation translate(Model& enc, Model& dec, Model& dec_past, const Array& src_ids, const Array& src_mask,
                      int64_t n_tokens, int64_t start_id, const Timer& timer, bool keep) {
  Translation out;
  const Tensor ids = tensor_from_array(src_ids);
  const Tensor mask = tensor_from_array(src_mask);
  Tensor hidden;
  out.encoder_ms = timer.call([&] {
    Named o = enc.run({{"input_ids", ids}, {"attention_mask", mask}});
    hidden = o.at(enc.output_names().front());
  });
  const int64_t batch = src_ids.shape.empty() ? 1 : src_ids.shape[0];
  const Tensor start = int64_tensor(std::vector<int64_t>(static_cast<size_t>(batch), start_id), {batch, 1});
  Named named;
  out.first_ms = timer.call([&] {
    named = dec.run({{"input_ids", start}, {"encoder_attention_mask", mask}, {"encoder_hidden_states", hidden}});
  });
  Named past = present_to_past(named);
  out.tokens.push_back(argmax_last(output(named, "logits")));
  if (keep) out.logits.push_back(last_row(output(named, "logits")));
  for (int64_t s = 0; s < n_tokens - 1; ++s) {
    Named feeds = {{"input_ids", int64_tensor({out.tokens.back()}, {1, 1})}, {"encoder_attention_mask", mask}};
    for (const auto& kv : past) feeds[kv.first] = kv.second;
    const double ms = timer.call([&] { named = dec_past.run(feeds); });
    out.step_ms.push_back(ms);
    for (const auto& kv : present_to_past(named, ".decoder.")) past[kv.first] = kv.second;
    out.tokens.push_back(argmax_last(output(named, "logits")));
    if (keep) out.logits.push_back(last_row(output(named, "logits")));
  }
  if (keep) out.encoder_hidden = float32_array(*hidden);
  return out;
}

Placement profiled_placement(Model& profiled, const std::function<void(Model&)>& run_once);

// EP placement from one profiled run in a separate session, after the peak was read. With the CPU
// EP alone there is nothing to place: every node runs on it, and a second session would only cost
// the cell its load time again (placement {}, "single provider").
void place(Context& ctx, const std::string& path, const json& settings, const std::function<void(Model&)>& run_once) {
  Placement placement;
  if (ctx.session_providers() != std::vector<std::string>{"CPUExecutionProvider"}) {
    placement = profiled_placement(*ctx.profiling_session(path, settings), run_once);
  }
  ctx.result["providers"] =
      summarize_providers(ctx.job.value("provider", "CPUExecutionProvider"), ctx.session_providers(), placement);
}

Placement profiled_placement(Model& profiled, const std::function<void(Model&)>& run_once) {
  run_once(profiled);
  const std::string prof_path = profiled.end_profiling();
  Placement placement;
  try {
    placement = placement_from_profile(prof_path);
  } catch (...) {
    std::remove(prof_path.c_str());
    throw;
  }
  std::remove(prof_path.c_str());
  return placement;
}


// params["feedback"] {input: output} -> [(input, output)], sorted by input, checked against the model.
std::vector<std::pair<std::string, std::string>> feedback_pairs(const Model& sess, const json& params) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!params.contains("feedback") || params["feedback"].is_null()) return out;
  std::vector<std::string> inputs;
  for (const auto& m : sess.inputs()) inputs.push_back(m.name);
  std::sort(inputs.begin(), inputs.end());
  auto listing = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
    return "[" + s + "]";
  };
  for (auto it = params["feedback"].begin(); it != params["feedback"].end(); ++it) {  // std::map: sorted
    const std::string src = it.value().get<std::string>();
    if (!std::binary_search(inputs.begin(), inputs.end(), it.key())) {
      throw JobError("ValueError", "feedback names input '" + it.key() + "', not an input of the model (" +
                                       listing(inputs) + ")");
    }
    const auto& outs = sess.output_names();
    if (std::find(outs.begin(), outs.end(), src) == outs.end()) {
      throw JobError("ValueError", "feedback feeds '" + it.key() + "' from output '" + src +
                                       "', not an output of the model (" + listing(outs) + ")");
    }
    out.emplace_back(it.key(), src);
  }
  return out;
}

}  // namespace

// With params["feedback"] ({input: output}), each timed step feeds the previous step's output
// (a streaming model's state); the first inference runs on the given inputs.
Outputs run_single(Context& ctx) {
  const json& job = ctx.job;
  const std::string path = job["models"].value("model", "");
  auto sess = ctx.load_role("model", session_of(job));
  const FeedArrays feed_sets = require_feed_sets(job, "");
  const auto feedback = feedback_pairs(*sess, params_of(job));
  Outputs outputs;
  const double slowdown = ctx.slowdown();
  for (const auto& set : feed_sets) {
    const std::string& label = set.first;
    Named feeds = feeds_of(set.second);  // the state inputs change from step to step
    const double t0 = perf_s();
    Named first = sess->run(feeds);
    const double first_ms = (perf_s() - t0) * 1000.0;
    ctx.watch += first_ms / 1000.0;
    ctx.result["first_inference_ms"][label.empty() ? "default" : label] = first_ms;
    for (const auto& name : sess->output_names()) put(outputs, label + "/" + name, array_from_tensor(*first[name]));
    for (const auto& fb : feedback) feeds[fb.first] = first[fb.second];
    first.clear();
    const Measured m = measure(
        [&] {
          Named outs = sess->run(feeds);
          for (const auto& fb : feedback) feeds[fb.first] = outs[fb.second];
        },
        measure_of(job), slowdown, ctx);
    const std::string name = series_name("latency_ms", label);
    ctx.result["series"][name] = {
        {"unit", "ms"}, {"samples", m.samples_ms}, {"warmup_n", m.warmup_n}, {"stopped_by", m.stopped_by}};
    ctx.steady_window(name, m.w0, m.w1);
  }
  ctx.take_peak();
  const Named first_feeds = feeds_of(feed_sets.begin()->second);
  place(ctx, path, session_of(job), [&](Model& s) { s.run(first_feeds); });
  return outputs;
}

Outputs run_text_generation(Context& ctx) {
  const json& job = ctx.job;
  const std::string path = job["models"].value("model", "");
  auto sess = ctx.load_role("model", session_of(job));
  // Names what a decode_ms sample holds, as the agent's kv_cache does: the Run call alone, feeds made
  // before and the cache handed on after. Runs made before this timed the bookkeeping too (12-19 us a
  // step); with the setting they read INCOMPARABLE in compare rather than IMPROVED.
  ctx.result["session"]["kv_cache"] = "native-run";
  const FeedArrays feed_sets = require_feed_sets(job, " (want '<label>/input_ids')");
  const Timer timer{ctx.slowdown()};
  json grid = params_of(job).value("grid", json::array());
  if (grid.empty()) {
    for (const auto& set : feed_sets) grid.push_back({{"label", set.first + "g16"}, {"prompt", set.first}, {"generate", 16}});
  }
  Outputs outputs;
  for (const auto& cell : grid) {
    const std::string label = cell.at("label").get<std::string>();
    const std::string prompt = cell.at("prompt").get<std::string>();
    const int64_t n_tok = cell.at("generate").get<int64_t>();
    const auto set = feed_sets.find(prompt);
    if (set == feed_sets.end() || !set->second.count("input_ids")) {
      std::string known;
      for (const auto& s : feed_sets) known += (known.empty() ? "'" : ", '") + s.first + "'";
      throw JobError("ValueError", "grid cell '" + label + "' names prompt '" + prompt + "', not in inputs ([" + known + "])");
    }
    const Array& ids = set->second.at("input_ids");
    Generation first;
    const double first_ms = timer.call([&] { first = lm_generate(*sess, ids, n_tok, timer, true); });
    ctx.watch += first_ms / 1000.0;
    ctx.result["first_inference_ms"][label] = first_ms;
    put(outputs, prompt + "/prefill_logits", first.prefill_logits);
    put(outputs, label + "/tokens", tokens_array(first.tokens));
    put(outputs, label + "/logits", rows_array(first.steps));
    std::vector<Generation> runs;
    // the slowdown knob acts inside (per call), so every series shows it once
    const Measured m = measure([&] { runs.push_back(lm_generate(*sess, ids, n_tok, timer, false)); },
                               measure_of(job), 0.0, ctx);
    std::vector<double> ttft, decode;
    for (size_t i = static_cast<size_t>(m.warmup_n); i < runs.size(); ++i) {
      ttft.push_back(runs[i].ttft_ms);
      decode.insert(decode.end(), runs[i].step_ms.begin(), runs[i].step_ms.end());
    }
    append_series(ctx, "ttft_ms@" + prompt, ttft, m.warmup_n, m.stopped_by);
    if (n_tok > 1) append_series(ctx, "decode_ms@" + label, decode, m.warmup_n, m.stopped_by);
    append_series(ctx, "generation_ms@" + label, m.samples_ms, m.warmup_n, m.stopped_by);
    ctx.steady_window("generation_ms@" + label, m.w0, m.w1);
  }
  ctx.take_peak();
  const Array& first_ids = feed_sets.begin()->second.at("input_ids");
  place(ctx, path, session_of(job), [&](Model& s) { lm_generate(s, first_ids, 1, Timer{0.0}, false); });
  return outputs;
}

// llama-bench's tests on an ONNX decoder, as the agent's run_llm (job kind "llm", the LLM runner's
// series): per depth D a KV cache filled once with D tokens of the stream (untimed); "pp<N>@d<D>" =
// N prompt tokens in one call on it (+ the argmax: at depth 0 that is "ttft<N>_ms"), "tg<N>@d<D>" =
// N greedy decode steps after it; tok/s, one sample per repetition. The KV cache stays in the
// runtime's own tensors between steps (outputs fed back as inputs, never copied). params.greedy N:
// outputs greedy_tokens, N int32 greedy tokens after the ids' first params.greedy_prompt (32), untimed.
Outputs run_llm(Context& ctx) {
  const json& job = ctx.job;
  const json& params = params_of(job);
  const std::string path = job["models"].value("model", "");
  auto sess = ctx.load_role("model", session_of(job));
  ctx.result["session"]["kv_cache"] = "native";
  std::vector<int64_t> ids;
  if (params.contains("ids") && params["ids"].is_array()) {
    for (const auto& v : params["ids"]) ids.push_back(v.get<int64_t>());
  }
  if (ids.empty()) {  // no text: seeded pseudo-random ids (llama-bench's way), below any vocabulary here
    uint64_t x = 1;
    for (int i = 0; i < 8192; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      ids.push_back(static_cast<int64_t>((x >> 33) % 256));
    }
  }
  for (int64_t id : ids) {
    if (id < 0) throw JobError("ValueError", "params.ids holds a negative token id");
  }
  std::vector<int64_t> stream;  // np.resize: the ids cycled to 8192 + 4096
  for (size_t i = 0; i < 8192 + 4096; ++i) stream.push_back(ids[i % ids.size()]);
  const auto n_ctx = params.value("n_ctx", static_cast<int64_t>(stream.size()));
  const double slowdown = ctx.slowdown();
  const bool has_mask = sess->has_input("attention_mask"), has_pos = sess->has_input("position_ids");
  auto feeds_for = [&](const std::vector<int64_t>& toks, int64_t first, const Named& past) {
    Named feeds;
    const auto n = static_cast<int64_t>(toks.size());
    feeds["input_ids"] = int64_tensor(toks, {1, n});
    if (has_mask) feeds["attention_mask"] = int64_tensor(std::vector<int64_t>(static_cast<size_t>(first + n), 1), {1, first + n});
    if (has_pos) {
      std::vector<int64_t> pos;
      for (int64_t i = first; i < first + n; ++i) pos.push_back(i);
      feeds["position_ids"] = int64_tensor(pos, {1, n});
    }
    for (const auto& kv : past) feeds[kv.first] = kv.second;
    return feeds;
  };
  auto span = [&](int64_t first, int64_t n) {
    return std::vector<int64_t>(stream.begin() + first, stream.begin() + first + n);
  };
  auto as_rate = [](int64_t n, const std::vector<double>& ms) {
    std::vector<double> out;
    for (double v : ms) out.push_back(static_cast<double>(n) * 1000.0 / v);
    return out;
  };
  auto tok_series = [&](const std::string& name, int64_t n, const Measured& m) {
    append_series(ctx, name, as_rate(n, m.samples_ms), m.warmup_n, m.stopped_by);
    ctx.result["series"][name]["unit"] = "tok/s";
    ctx.steady_window(name, m.w0, m.w1);
  };
  std::vector<int64_t> pps, tgs, depths;
  for (const auto& v : params.value("pp", json::array({512}))) pps.push_back(v.get<int64_t>());
  for (const auto& v : params.value("tg", json::array({128}))) tgs.push_back(v.get<int64_t>());
  for (const auto& v : params.value("depths", json::array({0}))) depths.push_back(v.get<int64_t>());
  std::string skipped;
  bool first_call = true;
  for (int64_t depth : depths) {
    Named filled = empty_past(*sess, 1);
    if (depth > 0) filled = present_to_past(sess->run(feeds_for(span(0, depth), 0, filled)));
    for (int64_t pp : pps) {
      if (pp <= 0) continue;
      const std::string name = "pp" + std::to_string(pp) + "@d" + std::to_string(depth);
      if (depth + pp > n_ctx) {
        skipped += (skipped.empty() ? "" : "; ") + name + ": past the model's context (" + std::to_string(n_ctx) + ")";
        continue;
      }
      auto rep = [&] { argmax_last(output(sess->run(feeds_for(span(depth, pp), depth, filled)), "logits")); };
      if (first_call) {
        const double first_ms = timed_call(rep, 0.0) * 1000.0;
        ctx.watch += first_ms / 1000.0;
        ctx.result["first_inference_ms"][name] = first_ms;
        first_call = false;
      }
      const Measured m = measure(rep, measure_of(job), slowdown, ctx);
      tok_series(name, pp, m);
      if (depth == 0) append_series(ctx, "ttft" + std::to_string(pp) + "_ms", m.samples_ms, m.warmup_n, m.stopped_by);
    }
    for (int64_t tg : tgs) {
      if (tg <= 0) continue;
      const std::string name = "tg" + std::to_string(tg) + "@d" + std::to_string(depth);
      if (depth + tg > n_ctx) {
        skipped += (skipped.empty() ? "" : "; ") + name + ": past the model's context (" + std::to_string(n_ctx) + ")";
        continue;
      }
      auto rep = [&] {
        Named past = filled;
        int64_t tok = stream[static_cast<size_t>(depth)];
        for (int64_t i = 0; i < tg; ++i) {
          const Named out = sess->run(feeds_for({tok}, depth + i, past));
          past = present_to_past(out);
          tok = argmax_last(output(out, "logits"));  // greedy, as an app decodes
        }
      };
      tok_series(name, tg, measure(rep, measure_of(job), slowdown, ctx));
    }
  }
  if (ctx.result["series"].empty()) throw JobError("ValueError", "no test fits the model's context: " + skipped);
  if (!skipped.empty()) ctx.result["session"]["skipped"] = skipped;
  ctx.take_peak();
  Outputs outputs;
  const int64_t greedy_n = params.value("greedy", static_cast<int64_t>(0));
  if (greedy_n > 0) {  // greedy continuation of the ids' first prompt tokens (untimed): runners compare these
    const int64_t prompt = std::min<int64_t>(params.value("greedy_prompt", static_cast<int64_t>(32)),
                                             static_cast<int64_t>(ids.size()));
    Named out = sess->run(feeds_for(span(0, prompt), 0, empty_past(*sess, 1)));
    std::vector<int32_t> tokens{static_cast<int32_t>(argmax_last(output(out, "logits")))};
    while (static_cast<int64_t>(tokens.size()) < greedy_n) {
      const int64_t at = prompt + static_cast<int64_t>(tokens.size()) - 1;
      out = sess->run(feeds_for({tokens.back()}, at, present_to_past(out)));
      tokens.push_back(static_cast<int32_t>(argmax_last(output(out, "logits"))));
    }
    Array a{"<i4", {greedy_n}, {}};
    const auto* p = reinterpret_cast<const uint8_t*>(tokens.data());
    a.data.assign(p, p + tokens.size() * sizeof(int32_t));
    put(outputs, "greedy_tokens", a);
  }
  place(ctx, path, session_of(job), [&](Model& s) { s.run(feeds_for(span(0, 1), 0, empty_past(s, 1))); });
  return outputs;
}

Outputs run_translation(Context& ctx) {
  const json& job = ctx.job;
  const json& params = params_of(job);
  json settings = session_of(job);
  if (!settings.contains("allow_spinning") || settings["allow_spinning"].is_null()) settings["allow_spinning"] = false;
  const char* roles[] = {"encoder", "decoder", "decoder_with_past"};
  std::vector<std::string> missing;
  for (const char* r : roles) {
    if (!job.contains("models") || !job["models"].contains(r)) missing.push_back(std::string("'") + r + "'");
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw JobError("ValueError", "translation job lacks model role(s) [" + list + "]");
  }
  auto enc = ctx.load_role("encoder", settings);
  auto dec = ctx.load_role("decoder", settings);
  auto dec_past = ctx.load_role("decoder_with_past", settings);
  const FeedArrays feed_sets = require_feed_sets(job, " (want '<label>/input_ids')");
  const int64_t n_new = params.value("max_new_tokens", 16);
  const int64_t start_id = params.value("decoder_start_token_id", 0);
  const Timer timer{ctx.slowdown()};
  Outputs outputs;
  std::map<std::string, std::pair<Array, Array>> sources;  // label -> (int64 ids, int64 mask)
  for (const auto& set : feed_sets) {
    const std::string& label = set.first;
    const auto ids_it = set.second.find("input_ids");
    if (ids_it == set.second.end()) throw JobError("KeyError", "'input_ids'");
    const Array ids = as_int64(ids_it->second);
    const auto mask_it = set.second.find("attention_mask");
    Array mask;
    if (mask_it != set.second.end()) {
      mask = as_int64(mask_it->second);
    } else {
      mask = Array{"<i8", ids.shape, {}};
      mask.data.resize(static_cast<size_t>(ids.size()) * 8);
      auto* p = reinterpret_cast<int64_t*>(mask.data.data());
      for (int64_t i = 0; i < ids.size(); ++i) p[i] = 1;
    }
    sources[label] = {ids, mask};
    Translation first;
    const double first_ms = timer.call([&] {
      first = translate(*enc, *dec, *dec_past, sources[label].first, sources[label].second, n_new, start_id, timer, true);
    });
    ctx.watch += first_ms / 1000.0;
    ctx.result["first_inference_ms"][label.empty() ? "default" : label] = first_ms;
    put(outputs, label + "/tokens", tokens_array(first.tokens));
    put(outputs, label + "/logits", rows_array(first.logits));
    put(outputs, label + "/encoder_hidden", first.encoder_hidden);
    std::vector<Translation> runs;
    const Measured m = measure(
        [&] {
          runs.push_back(translate(*enc, *dec, *dec_past, sources[label].first, sources[label].second, n_new, start_id,
                                   timer, false));
        },
        measure_of(job), 0.0, ctx);
    std::vector<double> enc_ms, dec_ms;
    for (size_t i = static_cast<size_t>(m.warmup_n); i < runs.size(); ++i) {
      enc_ms.push_back(runs[i].encoder_ms);
      dec_ms.insert(dec_ms.end(), runs[i].step_ms.begin(), runs[i].step_ms.end());
    }
    append_series(ctx, series_name("encoder_ms", label), enc_ms, m.warmup_n, m.stopped_by);
    append_series(ctx, series_name("decoder_ms", label), dec_ms, m.warmup_n, m.stopped_by);
    append_series(ctx, series_name("sentence_ms", label), m.samples_ms, m.warmup_n, m.stopped_by);
    ctx.steady_window(series_name("sentence_ms", label), m.w0, m.w1);
  }
  ctx.take_peak();
  const auto& first = sources.begin()->second;
  place(ctx, job["models"]["decoder_with_past"].get<std::string>(), settings, [&](Model& s) {
    translate(*enc, *dec, s, first.first, first.second, 2, start_id, Timer{0.0}, false);
  });
  return outputs;
}

}  // namespace runner
