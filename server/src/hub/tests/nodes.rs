//! Across nodes and rooms: repair, closing on every node, a room whose log fails.

use super::*;

#[tokio::test]
async fn nodes_repair_dropped_updates_and_deletions_by_comparing_state() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let relay = Arc::new(LocalRelay::default());
    let limits = HubLimits {
        repair_every: Duration::from_millis(50),
        ..HubLimits::default()
    };
    let one = Hub::new(store.clone(), limits.clone(), relay.clone());
    let two = Hub::new(store, limits, relay);
    let a = one.room("p").await.expect("room on one");
    let b = two.room("p").await.expect("room on two");

    // A change reaches node one, but what it published is lost.
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let added = update_of(&client, |txn| {
        shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
        shapes.insert(txn, "s2", MapPrelim::from([("type", "circle")]));
    });
    assert!(a.merge_remote(&added).await);
    assert!(!has_shape(&b, "s1").await);
    eventually("node two to get the lost shapes", async || {
        has_shape(&b, "s1").await
    })
    .await;
    let repaired = two.metrics().repair_syncs.load(Ordering::Relaxed);
    assert!(repaired >= 1);

    // A deletion moves no state vector; the delete digest finds it.
    let deleted = update_of(&client, |txn| {
        shapes.remove(txn, "s2");
    });
    assert!(a.merge_remote(&deleted).await);
    eventually("node two to lose the deleted shape", async || {
        !has_shape(&b, "s2").await
    })
    .await;
    assert!(has_shape(&b, "s1").await);
    assert!(two.metrics().repair_syncs.load(Ordering::Relaxed) > repaired);
}

#[tokio::test]
async fn replaced_links_close_their_sockets_and_a_deleted_picture_closes_its_room() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let relay = Arc::new(LocalRelay::default());
    let hub = Hub::new(store.clone(), HubLimits::default(), relay.clone());
    let elsewhere = Hub::new(store.clone(), HubLimits::default(), relay);
    let room = hub.room("p").await.expect("room");
    let mut owner = Client::join(&room, Role::Owner);
    let mut editor = Client::join(&room, Role::Edit);
    let far_room = elsewhere.room("p").await.expect("room on another node");
    let mut far_viewer = Client::join(&far_room, Role::View);
    let mut far_owner = Client::join(&far_room, Role::Owner);
    for client in [&mut owner, &mut editor, &mut far_viewer, &mut far_owner] {
        let _ = client.message().await;
    }
    hub.links_revoked("p", &[Role::Edit, Role::Comment, Role::View], "new links");
    assert_eq!(closed_with(&mut editor).await, 4401);
    assert_eq!(
        closed_with(&mut far_viewer).await,
        4401,
        "on the other node too"
    );
    // The owner's link was not replaced: it goes on.
    owner.send(Message::AwarenessQuery.encode_v1());
    owner.send(awareness(ClientID::new(5), 1, "{}"));
    let mut watcher = watch(&room);
    owner.send(awareness(ClientID::new(5), 2, "{}"));
    assert!(tokio::time::timeout(Duration::from_secs(5), watcher.recv())
        .await
        .is_ok());
    store.delete("p");
    hub.deleted("p");
    assert_eq!(closed_with(&mut owner).await, 4404);
    assert_eq!(
        closed_with(&mut far_owner).await,
        4404,
        "on the other node too"
    );
    assert!(hub.loaded("p").is_none(), "the room is unloaded");
    assert!(elsewhere.loaded("p").is_none(), "on the other node too");
}

#[tokio::test]
async fn updates_that_can_never_be_logged_do_not_hold_up_other_rooms() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p", "q"]));
    let hub = Hub::new(
        store.clone(),
        HubLimits::default(),
        Arc::new(LocalRelay::default()),
    );
    let doomed = hub.room("q").await.expect("room q");
    let live = hub.room("p").await.expect("room p");
    let mut writer = Client::join(&doomed, Role::Edit);
    let _ = writer.message().await;
    // q is deleted behind the hub's back: its updates can never be logged.
    store.delete("q");
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    for i in 0..20 {
        let bytes = update_of(&client, |txn| {
            shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
        });
        writer.send(Message::Sync(SyncMessage::Update(bytes)).encode_v1());
    }
    // Meanwhile p's updates go through, without waiting for q's retries.
    let editor = Client::join(&live, Role::Edit);
    let mut others = watch(&live);
    let other = Doc::new();
    let theirs = other.get_or_insert_map("shapes");
    let mut slowest = Duration::ZERO;
    for i in 0..5 {
        let bytes = update_of(&other, |txn| {
            theirs.insert(txn, format!("p{i}"), MapPrelim::from([("type", "marker")]));
        });
        let sent = std::time::Instant::now();
        editor.send(Message::Sync(SyncMessage::Update(bytes)).encode_v1());
        tokio::time::timeout(Duration::from_secs(5), others.recv())
            .await
            .expect("p's update is sent on")
            .expect("received");
        slowest = slowest.max(sent.elapsed());
    }
    // The log writer's retries would take over 1.3 s.
    assert!(
        slowest < Duration::from_millis(1000),
        "p waited {slowest:?}"
    );
    assert_eq!(store.log("p").len(), 5);
    // q's writer is told its changes were not stored.
    assert_eq!(closed_with(&mut writer).await, 1011);
}
