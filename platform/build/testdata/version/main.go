// Command version prints what package build says, for build_test.go to
// build with -ldflags.
package main

import (
	"fmt"

	"github.com/uberservice/uberservice/platform/build"
)

func main() { fmt.Println(build.Version()) }
