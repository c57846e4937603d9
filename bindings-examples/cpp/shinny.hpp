// shinny.hpp: a header-only RAII wrapper over the libshinny C ABI.
// Handles are released by their destructors; failed calls throw
// shinny::Error with the status and the library's message.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "shinny.h"

namespace shinny {

/// A failed call.
class Error : public std::runtime_error {
public:
    Error(ShinnyStatus status, const char *message)
        : std::runtime_error(std::string("status ") + std::to_string(static_cast<int>(status)) +
                             ": " + (message ? message : "?")),
          status_(status) {}
    ShinnyStatus status() const noexcept { return status_; }

private:
    ShinnyStatus status_;
};

inline void check(ShinnyStatus st) {
    // The message is thread-local and read right away, on the same thread.
    if (st != SHINNY_STATUS_OK) throw Error(st, shinny_last_error());
}

namespace detail {
struct ContextFree { void operator()(ShinnyContext *p) const noexcept { shinny_context_free(p); } };
struct PolicyFree { void operator()(ShinnyPolicy *p) const noexcept { shinny_policy_free(p); } };
struct ResultFree { void operator()(ShinnyResult *p) const noexcept { shinny_result_free(p); } };
}  // namespace detail

/// A diagnostics policy; immutable, shareable between threads.
class Policy {
public:
    explicit Policy(std::string_view json) {
        ShinnyPolicy *p = nullptr;
        check(shinny_policy_from_json(reinterpret_cast<const uint8_t *>(json.data()), json.size(), &p));
        h_.reset(p);
    }
    const ShinnyPolicy *get() const noexcept { return h_.get(); }

private:
    std::unique_ptr<ShinnyPolicy, detail::PolicyFree> h_;
};

/// One validation result; owns the outcome JSON it hands out.
class Result {
public:
    explicit Result(ShinnyResult *r) : h_(r) {}
    /// The OperationOutcome JSON; valid as long as this Result.
    std::string_view outcome_json() const {
        const char *json = nullptr;
        size_t len = 0;
        check(shinny_result_outcome_json(h_.get(), &json, &len));
        return {json, len};
    }
    size_t error_count() const {
        size_t n = 0;
        check(shinny_result_error_count(h_.get(), &n));
        return n;
    }
    ShinnySeverity max_severity() const {
        ShinnySeverity s = SHINNY_SEVERITY_NONE;
        check(shinny_result_max_severity(h_.get(), &s));
        return s;
    }

private:
    std::unique_ptr<ShinnyResult, detail::ResultFree> h_;
};

/// A compiled validation context; immutable, use one from many threads.
class Context {
public:
    static Context from_artifact_file(const std::string &path) {
        ShinnyContext *c = nullptr;
        check(shinny_context_from_artifact_file(path.c_str(), &c));
        return Context(c);
    }
    /// Empty strings select the defaults (package cache, us.ny.hrsn#1.9.4).
    static Context from_packages(const std::string &package_dir, const std::string &ig) {
        ShinnyContext *c = nullptr;
        check(shinny_context_from_packages(package_dir.empty() ? nullptr : package_dir.c_str(),
                                           ig.empty() ? nullptr : ig.c_str(), &c));
        return Context(c);
    }
    Result validate(std::string_view json, const Policy *policy = nullptr,
                    const char *profile = nullptr) const {
        ShinnyResult *r = nullptr;
        check(shinny_validate(h_.get(), reinterpret_cast<const uint8_t *>(json.data()), json.size(),
                              profile, policy ? policy->get() : nullptr, &r));
        return Result(r);
    }

private:
    explicit Context(ShinnyContext *c) : h_(c) {}
    std::unique_ptr<ShinnyContext, detail::ContextFree> h_;
};

/// The library version string.
inline std::string_view version() { return shinny_version(); }

}  // namespace shinny
