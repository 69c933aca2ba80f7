// (d) Virtual calls, templates, lambdas, exceptions and the standard library
// (its inline parts instrumented, its compiled parts not) all work.
#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "cxx_shapes.h"
#include "tick_page.h"

int main() {
  std::vector<double> areas;
  for (const auto &shape : make_shapes(100))
    areas.push_back(shape->area());
  std::sort(areas.begin(), areas.end(), [](double a, double b) { return a > b; });

  std::map<std::string, int> buckets;
  for (int i = 0; i < 50; i++)
    buckets[std::to_string(i % 7)] += i;

  bool caught = false;
  try {
    parse_int("");
  } catch (const std::invalid_argument &) {
    caught = true;
  }

  auto ticks = rrx_tick_count(rrx_tick_page());
  bool ok = areas[0] == 9801.0 && buckets.size() == 7 && buckets["3"] == 168 &&
            caught && parse_int("41") == 41 && ticks > 1000;
  std::printf("%s: largest area %.1f, %zu buckets, %llu ticks\n",
              ok ? "PASS" : "FAIL", areas[0], buckets.size(),
              static_cast<unsigned long long>(ticks));
  return ok ? 0 : 1;
}
