/* A C++ plugin: needs libstdc++ (which a Rust host has not loaded), uses the standard library,
 * and throws and catches an exception inside itself. */
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" long cxx_work(int n) {
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < n; i++) m["k" + std::to_string(i % 7)].push_back(i);
    long total = 0;
    for (auto &kv : m)
        for (int v : kv.second) total += v;
    try {
        throw std::runtime_error("total " + std::to_string(total));
    } catch (const std::exception &e) {
        return std::string(e.what()) == "total " + std::to_string(total) ? total : -1;
    }
}
