//! `warren-bench`: workloads and amplification figures for `warren bench`.
