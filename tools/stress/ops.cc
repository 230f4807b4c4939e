#include "tools/stress/ops.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "tools/stress/oracle.h"

namespace runlog::stress {
namespace {

using wal::RecordType;

class Encoder {
 public:
  template <typename T>
  void Put(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void Str(std::string_view s) {
    Put<uint16_t>(static_cast<uint16_t>(s.size()));
    out.append(s);
  }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    Put<uint16_t>(static_cast<uint16_t>(v.size()));
    for (T x : v) Put(x);
  }
  std::string out;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  template <typename T>
  T Get() {
    T v{};
    if (in_.size() < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::string Str() {
    size_t n = Get<uint16_t>();
    if (in_.size() < n) ok_ = false;
    std::string s(in_.substr(0, n));
    in_.remove_prefix(std::min(n, in_.size()));
    return s;
  }
  template <typename T>
  std::vector<T> Vec() {
    std::vector<T> v(Get<uint16_t>());
    for (T& x : v) x = Get<T>();
    return v;
  }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

void EncodeOp(const Op& op, Encoder* e) {
  e->Put(static_cast<uint8_t>(op.kind));
  e->Str(op.path);
  e->Put(op.f);
  e->Put(op.i);
  e->Vec(op.values);
  e->Vec(op.steps);
  e->Vec(op.timestamps);
  e->Put<uint16_t>(static_cast<uint16_t>(op.strings.size()));
  for (const auto& s : op.strings) e->Str(s);
}

Op DecodeOp(Decoder* d) {
  Op op;
  op.kind = static_cast<OpKind>(std::min<uint8_t>(d->Get<uint8_t>(), 13));
  op.path = d->Str();
  op.f = d->Get<double>();
  op.i = d->Get<int64_t>();
  op.values = d->Vec<double>();
  op.steps = d->Vec<double>();
  op.timestamps = d->Vec<int64_t>();
  op.strings.resize(d->Get<uint16_t>());
  for (auto& s : op.strings) s = d->Str();
  return op;
}

}  // namespace

RecordType RecordOf(OpKind k) {
  constexpr RecordType kRecords[] = {
      RecordType::AssignFloat,  RecordType::AssignInt,      RecordType::AssignBool,
      RecordType::AssignString, RecordType::AssignDatetime, RecordType::AppendFloats,
      RecordType::AppendFloats, RecordType::AppendStrings,  RecordType::AppendStrings,
      RecordType::AddStrings,   RecordType::RemoveStrings,  RecordType::ClearField,
      RecordType::DeletePath,   RecordType::MarkFailed};
  return kRecords[static_cast<int>(k)];
}

FieldType TypeOf(OpKind k) {
  constexpr FieldType kTypes[] = {
      FieldType::kFloat,       FieldType::kInt,          FieldType::kBool,
      FieldType::kString,      FieldType::kDatetime,     FieldType::kFloatSeries,
      FieldType::kFloatSeries, FieldType::kStringSeries, FieldType::kStringSeries,
      FieldType::kStringSet,   FieldType::kStringSet,    FieldType::kNone,
      FieldType::kNone,        FieldType::kNone};
  return kTypes[static_cast<int>(k)];
}

size_t PointCount(const Op& op) {
  switch (op.kind) {
    case OpKind::kAppend:
    case OpKind::kAppendString: return 1;
    case OpKind::kExtend: return op.values.size();
    default: return op.strings.size();
  }
}

std::string Describe(const Op& op) {
  auto num = [](double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return std::string(buf);
  };
  std::string s = std::string(OpName(op.kind)) + " \"" + op.path + "\"";
  switch (op.kind) {
    case OpKind::kAssignFloat: return s + " = " + num(op.f);
    case OpKind::kAssignInt:
    case OpKind::kAssignBool:
    case OpKind::kAssignDatetime: return s + " = " + std::to_string(op.i);
    case OpKind::kClear:
    case OpKind::kDelete: return s;
    default: break;
  }
  if (TypeOf(op.kind) == FieldType::kStringSet || op.kind == OpKind::kAssignString) {
    for (const auto& m : op.strings) s += " \"" + m + "\"";
    return s;
  }
  s += " " + std::to_string(PointCount(op)) + " point(s), steps ";
  s += op.steps.empty() ? "default"
                        : "[" + num(op.steps.front()) + " .. " + num(op.steps.back()) + "] (" +
                              std::to_string(op.steps.size()) + ")";
  s += op.timestamps.empty() ? ", now" : ", explicit timestamps";
  if (!op.values.empty()) s += ", first value " + num(op.values.front());
  return s;
}

Result<uint64_t> Execute(Run& run, const Op& op) {
  PointOptions po;
  if (!op.steps.empty()) po.step = op.steps[0];
  if (!op.timestamps.empty()) po.timestamp_us = op.timestamps[0];
  switch (op.kind) {
    case OpKind::kAssignFloat: return run.AssignFloat(op.path, op.f);
    case OpKind::kAssignInt: return run.AssignInt(op.path, op.i);
    case OpKind::kAssignBool: return run.AssignBool(op.path, op.i != 0);
    case OpKind::kAssignString: return run.AssignString(op.path, op.strings[0]);
    case OpKind::kAssignDatetime: return run.AssignDatetime(op.path, Datetime{op.i});
    case OpKind::kAppend: return run.Append(op.path, op.values[0], po);
    case OpKind::kExtend: return run.Extend(op.path, op.values, op.steps, op.timestamps);
    case OpKind::kAppendString: return run.AppendString(op.path, op.strings[0], po);
    case OpKind::kExtendStrings:
      return run.ExtendStrings(op.path, op.strings, op.steps, op.timestamps);
    case OpKind::kAddStrings: return run.AddStrings(op.path, op.strings);
    case OpKind::kRemoveStrings: return run.RemoveStrings(op.path, op.strings);
    case OpKind::kClear: return run.Clear(op.path);
    case OpKind::kDelete: return run.Delete(op.path);
    case OpKind::kMarkFailed: return run.MarkFailed(op.strings[0]);
  }
  return Status::InvalidArgument("unknown operation");
}

int ThreadOfPath(std::string_view path) {
  if (path.empty() || SysWritable(path)) return 0;
  if (!path.starts_with("w")) return -1;
  std::string num(path.substr(1, path.find('/') - 1));
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(num);
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Frame(MsgType type, int thread, const std::string& body) {
  Encoder e;
  e.Put<uint32_t>(static_cast<uint32_t>(body.size()));
  e.Put(static_cast<uint8_t>(type));
  e.Put(static_cast<uint8_t>(thread));
  e.out += body;
  return e.out;
}

bool PopFrame(std::string* buf, Message* m) {
  uint32_t size;
  if (buf->size() < 6) return false;
  std::memcpy(&size, buf->data(), sizeof size);
  if (buf->size() < 6 + size) return false;
  m->type = static_cast<MsgType>((*buf)[4]);
  m->thread = static_cast<uint8_t>((*buf)[5]);
  m->body = buf->substr(6, size);
  buf->erase(0, 6 + size);
  return true;
}

std::string EncodeIntent(const Intent& intent) {
  Encoder e;
  e.Put(intent.t0);
  EncodeOp(intent.op, &e);
  return e.out;
}

std::string EncodeResult(const CallResult& result) {
  Encoder e;
  e.Put(static_cast<uint8_t>(result.code));
  e.Put<uint64_t>(result.lsn);
  e.Put(result.t1);
  e.Put<uint64_t>(result.committed_lsn);
  return e.out;
}

bool DecodeIntent(std::string_view body, Intent* intent) {
  Decoder d(body);
  intent->t0 = d.Get<int64_t>();
  intent->op = DecodeOp(&d);
  return d.done();
}

bool DecodeResult(std::string_view body, CallResult* result) {
  Decoder d(body);
  result->code = static_cast<Code>(d.Get<uint8_t>());
  result->lsn = d.Get<uint64_t>();
  result->t1 = d.Get<int64_t>();
  result->committed_lsn = d.Get<uint64_t>();
  return d.done();
}

}  // namespace runlog::stress
