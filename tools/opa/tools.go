//go:build tools

// Package tools pins the opa command Farpoint compiles policies with.
package tools

import _ "github.com/open-policy-agent/opa"
