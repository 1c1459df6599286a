package database

// NarrowFor is how long a pool stays narrow when nothing widens it sooner.
const NarrowFor = narrowFor
