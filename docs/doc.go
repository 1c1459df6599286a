// Package docs holds no code. Its folder holds the documentation generated
// from the binary: modules.md, the module map and what every module, topic
// and gateway is, rendered by `uberservice modules --format markdown`
// (`make docs`). Edit the modules' declarations, not the file: its test
// fails when the file is not what the binary renders now.
package docs
