// Validates one FHIR JSON file with libshinny and prints the outcome.
//
// usage: go run . RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]
//
// Exit 0 when the file has no error or, with EXPECTED_MESSAGE_ID, when it
// has an error and an issue carries that id; 1 otherwise; 2 on failure.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: shinny-go-example RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]")
		return 2
	}
	if ABIVersion() != HeaderABIVersion {
		fmt.Fprintf(os.Stderr, "libshinny ABI %d, header %d\n", ABIVersion(), HeaderABIVersion)
		return 2
	}
	ctx, err := ContextFromArtifactFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer ctx.Close()
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res, err := ctx.Validate(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pretty, _ := json.MarshalIndent(res.Outcome, "", "  ")
	fmt.Println(string(pretty))
	fmt.Printf("libshinny %s: %d error(s), max severity %s\n", Version(), res.ErrorCount, res.MaxSeverity)
	if len(os.Args) == 3 {
		if res.ErrorCount == 0 {
			return 0
		}
		return 1
	}
	for _, id := range res.MessageIDs() {
		if id == os.Args[3] && res.ErrorCount > 0 {
			return 0
		}
	}
	fmt.Fprintf(os.Stderr, "expected message id %s not reported\n", os.Args[3])
	return 1
}
