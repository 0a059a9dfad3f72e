//! The move: copier, change applier, verifier, checkpoint, sentinel and cutover.
//!
//! Wiring only: the logic lives in `reshard-convert`, `reshard-kernels` and `reshard-mysql`;
//! this crate connects them with bounded channels and owns the correctness argument of a move
//! (see `docs/architecture.md`). Its first pieces arrive with the copy engine.
