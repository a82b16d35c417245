// Package wire holds the Go code generated from proto/parley/v1/parley.proto.
// Do not edit the generated file by hand; regenerate it with go generate.
package wire

//go:generate protoc --proto_path=../../proto --go_out=. --go_opt=module=github.com/parley-chat/parley/internal/wire parley/v1/parley.proto parley/v1/store.proto
