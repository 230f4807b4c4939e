#include "tests/util/run_cli_fixtures.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

namespace runlog::test {

using nlohmann::json;

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::string Ops(const std::vector<json>& ops) {
  std::string text;
  for (const json& op : ops) text += op.dump() + "\n";
  return text;
}

json Assign(const std::string& path, const json& value) {
  return {{"op", "assign"}, {"path", path}, {"value", value}};
}
json Append(const std::string& path, const json& value) {
  return {{"op", "append"}, {"path", path}, {"value", value}};
}
json AppendAt(const std::string& path, const json& value, double step) {
  return {{"op", "append"}, {"path", path}, {"value", value}, {"step", step}};
}
json Delete(const std::string& path) {
  return {{"op", "delete"}, {"path", path}};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<double> Steps(const json& series) {
  std::vector<double> steps;
  for (const json& p : series["points"]) steps.push_back(p["step"].get<double>());
  return steps;
}

// ---- CliChild -----------------------------------------------------------------------------

void CliChild::Send(const json& op) {
  std::fputs((op.dump() + "\n").c_str(), in);
  std::fflush(in);
}

std::string CliChild::ReadLine() {
  char buf[4096];
  return std::fgets(buf, sizeof(buf), out) != nullptr ? std::string(buf) : std::string();
}

int CliChild::Finish() {
  if (in != nullptr) std::fclose(in);
  in = nullptr;
  int status = 0;
  waitpid(pid, &status, 0);
  if (out != nullptr) std::fclose(out);
  out = nullptr;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---- RunCliTest ---------------------------------------------------------------------------

CliResult RunCliTest::Runlog(const std::string& args, const std::string& in) {
  return RunCli(RUNLOG_BINARY, args, in);
}

Logged RunCliTest::Log(const std::vector<json>& ops, const std::string& flags) {
  return LogText(Ops(ops), flags);
}

Logged RunCliTest::LogText(const std::string& text, const std::string& flags) {
  CliResult r = Runlog("log " + ShellQuote(repo_) + " " + flags, text);
  Logged l;
  l.exit_code = r.exit_code;
  l.out = r.out;
  l.err = r.err;
  std::vector<json> lines = JsonLines(r.out);
  if (!lines.empty() && lines[0].contains("run")) l.run = lines[0]["run"];
  for (size_t i = 1; i < lines.size(); ++i) {
    int n = lines[i]["line"];
    if (lines[i].contains("lsn")) l.lsn[n] = lines[i]["lsn"];
    if (lines[i].contains("error")) l.error[n] = lines[i]["error"];
  }
  return l;
}

json RunCliTest::FetchJson(const std::string& path, const std::string& run,
                           const std::string& flags) {
  CliResult r = Fetch(path, run, "--json " + flags);
  EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
  std::vector<json> lines = JsonLines(r.out);
  EXPECT_EQ(lines.size(), 1u) << r.out;
  return lines.empty() ? json() : lines[0];
}

CliResult RunCliTest::Fetch(const std::string& path, const std::string& run,
                            const std::string& flags) {
  return Runlog("fetch " + ShellQuote(repo_) + " " + ShellQuote(run) + " " + ShellQuote(path) +
                " " + flags);
}

CliChild RunCliTest::Spawn(const std::vector<std::string>& args) {
  signal(SIGPIPE, SIG_IGN);  // a child that died must fail the test, not kill it
  int in_pipe[2], out_pipe[2];
  EXPECT_EQ(pipe(in_pipe), 0);
  EXPECT_EQ(pipe(out_pipe), 0);
  CliChild c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], devnull}) close(fd);
    std::vector<char*> argv = {const_cast<char*>(RUNLOG_BINARY), const_cast<char*>("log"),
                               repo_.data()};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(RUNLOG_BINARY, argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  c.in = fdopen(in_pipe[1], "w");
  c.out = fdopen(out_pipe[0], "r");
  return c;
}

}  // namespace runlog::test
