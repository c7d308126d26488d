//! `folders`: list, read, create, rename/move and delete folders.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use kc_store_api::wire::{FolderChange, FolderInfo, ModseqReply, NewFolder};

use super::body::Body;
use super::reply::{self, ok, Fail, R};
use super::{read_json, Call};
use crate::kcerr::KcErr;
use crate::storage::FolderStatus;

/// A folder with its counters as the API answers it.
fn info(s: &FolderStatus) -> FolderInfo {
    let f = &s.folder;
    FolderInfo {
        class: f.container_class.clone(),
        exists: s.exists,
        highest_modseq: s.highest_modseq,
        id: f.id,
        name: f.name.clone(),
        parent: f.parent,
        role: f.role.clone(),
        uid_next: f.uid_next,
        uid_validity: f.uid_validity,
    }
}

fn no_folder(id: i64) -> Fail {
    Fail::Kc(KcErr::NOT_FOUND, format!("no folder {id}"))
}

/// `GET folders`: the live folders of the store.
pub(super) async fn list(cx: &Call<'_>) -> R<Response<Body>> {
    let sid = cx.sid();
    let fs = cx.node.db(move |s| s.folder_statuses(sid)).await?;
    ok(&fs.iter().map(info).collect::<Vec<_>>())
}

/// `GET folders/{id}`: one folder with its counters.
pub(super) async fn get(cx: &Call<'_>, id: i64) -> R<Response<Body>> {
    cx.folder(id).await?;
    let f = cx
        .node
        .db(move |s| s.folder_status(id))
        .await?
        .ok_or_else(|| no_folder(id))?;
    ok(&info(&f))
}

/// `POST folders`: 201 and the new folder.
pub(super) async fn create(cx: &Call<'_>, body: Incoming) -> R<Response<Body>> {
    let r: NewFolder = read_json(body).await?;
    cx.folder(r.parent).await?;
    let f = cx
        .node
        .db(move |s| {
            let f = s.create_folder(r.parent, &r.name, r.class.as_deref())?;
            s.folder_status(f.id)
        })
        .await?
        .ok_or_else(|| Fail::from(KcErr::NOT_FOUND))?;
    Ok(reply::json(StatusCode::CREATED, &info(&f)))
}

/// `PATCH folders/{id}`: rename and/or move.
pub(super) async fn update(cx: &Call<'_>, id: i64, body: Incoming) -> R<Response<Body>> {
    let r: FolderChange = read_json(body).await?;
    cx.folder(id).await?;
    if let Some(p) = r.parent {
        cx.folder(p).await?;
    }
    let modseq = cx
        .node
        .db(move |s| s.update_folder(id, r.name.as_deref(), r.parent))
        .await?;
    ok(&ModseqReply { modseq })
}

/// `DELETE folders/{id}`: soft-deletes the subtree.
pub(super) async fn delete(cx: &Call<'_>, id: i64) -> R<Response<Body>> {
    cx.folder(id).await?;
    let modseq = cx.node.db(move |s| s.delete_folder(id)).await?;
    ok(&ModseqReply { modseq })
}
