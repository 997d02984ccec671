//go:build tools

// Package tools pins the etcd server Farpoint's test clusters store their state in.
package tools

import _ "go.etcd.io/etcd/server/v3"
