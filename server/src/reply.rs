//! Replies to writes: a txn's outcome in the response record its request expects.

use warren_proto::consts::op;
use warren_proto::request::{encode_multi_response, OpResult};
use warren_proto::{Create2Response, CreateResponse, ErrorCode, Jute, StatResponse};

use warren_tree::Outcome;

/// The error code and body of the reply to a write request with opcode `request_op`.
pub fn encode_outcome(request_op: i32, outcome: &Outcome) -> (ErrorCode, Vec<u8>) {
    match outcome {
        Outcome::Failed(code) => (*code, Vec::new()),
        Outcome::Created { path, stat, .. } => {
            let body = if request_op == op::CREATE {
                CreateResponse { path: path.clone() }.to_bytes()
            } else {
                Create2Response {
                    path: path.clone(),
                    stat: stat.clone(),
                }
                .to_bytes()
            };
            (ErrorCode::OK, body)
        }
        Outcome::DataSet { stat } | Outcome::AclSet { stat } => (
            ErrorCode::OK,
            StatResponse { stat: stat.clone() }.to_bytes(),
        ),
        Outcome::Multi(subs) => {
            let results: Vec<OpResult> = subs.iter().map(op_result).collect();
            let mut b = Vec::new();
            encode_multi_response(&results, &mut b);
            (ErrorCode::OK, b)
        }
        Outcome::Deleted | Outcome::Checked | Outcome::SessionCreated | Outcome::SessionClosed => {
            (ErrorCode::OK, Vec::new())
        }
    }
}

/// One op's result inside a multi.
fn op_result(o: &Outcome) -> OpResult {
    match o {
        Outcome::Created { op: o, path, .. } if *o == op::CREATE => {
            OpResult::Create { path: path.clone() }
        }
        Outcome::Created { op, path, stat } => OpResult::Create2 {
            op: *op,
            path: path.clone(),
            stat: stat.clone(),
        },
        Outcome::Deleted => OpResult::Delete,
        Outcome::DataSet { stat } | Outcome::AclSet { stat } => {
            OpResult::SetData { stat: stat.clone() }
        }
        Outcome::Checked => OpResult::Check,
        Outcome::Failed(c) => OpResult::Error { err: c.0 },
        Outcome::SessionCreated | Outcome::SessionClosed | Outcome::Multi(_) => OpResult::Error {
            err: ErrorCode::RUNTIME_INCONSISTENCY.0,
        },
    }
}
