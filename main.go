// Command auger is a GitOps release manager: it records release artifacts, renders
// them with Helm and writes releases to a gitops repository that Flux applies.
package main

import (
	"os"

	"github.com/auger-dev/auger/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr))
}
