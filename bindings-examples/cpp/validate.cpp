// Validates one FHIR JSON file with libshinny through the RAII wrapper and
// prints the outcome.
//
// usage: validate RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]
//
// Exit 0 when the file has no error or, with EXPECTED_MESSAGE_ID, when it
// has an error and an issue carries that id; 1 otherwise; 2 on failure.
#include <fstream>
#include <iostream>
#include <sstream>

#include "shinny.hpp"

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: " << argv[0] << " RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]\n";
        return 2;
    }
    if (shinny_abi_version() != SHINNY_ABI_VERSION) {
        std::cerr << "libshinny ABI mismatch\n";
        return 2;
    }
    try {
        std::ifstream in(argv[2], std::ios::binary);
        if (!in) {
            std::cerr << "cannot read " << argv[2] << "\n";
            return 2;
        }
        std::stringstream buf;
        buf << in.rdbuf();
        const std::string input = buf.str();

        const auto ctx = shinny::Context::from_artifact_file(argv[1]);
        const auto result = ctx.validate(input);
        const std::string_view json = result.outcome_json();
        std::cout << json << "\n"
                  << "libshinny " << shinny::version() << ": " << result.error_count()
                  << " error(s), max severity " << static_cast<int>(result.max_severity()) << "\n";
        if (argc == 3) return result.error_count() == 0 ? 0 : 1;
        // The message id is the operationoutcome-message-id extension's value;
        // the JSON is compact, so this exact text appears.
        const std::string needle = std::string("\"valueString\":\"") + argv[3] + "\"";
        if (json.find(needle) == std::string_view::npos) {
            std::cerr << "expected message id " << argv[3] << " not reported\n";
            return 1;
        }
        return result.error_count() > 0 ? 0 : 1;
    } catch (const shinny::Error &e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
}
