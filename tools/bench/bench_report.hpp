// Prints figures: one JSON object per line (--json) or a table row per figure.
#pragma once

#include <vector>

#include "bench_support.hpp"

namespace experiture {
namespace bench {

void print_figures(const std::vector<Figure>& figures, bool json);
void print_summary(const std::vector<Figure>& all, bool json);

}  // namespace bench
}  // namespace experiture
