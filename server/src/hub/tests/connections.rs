//! One node: a connection's life, the log's order, floods and seats.

use super::*;

#[tokio::test]
async fn a_connection_over_channels_syncs_edits_shares_presence_is_refused_and_closed() {
    let (hub, store) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let mut editor = Client::join(&room, Role::Edit);
    assert!(matches!(
        editor.message().await,
        Message::Sync(SyncMessage::SyncStep1(_))
    ));
    // Sync: the editor asks for what it lacks.
    editor.send(Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1());
    assert!(matches!(
        editor.message().await,
        Message::Sync(SyncMessage::SyncStep2(_))
    ));
    // Presence: the viewer hears who is here on joining, then the editor's moves.
    let doc = Doc::new();
    let ada = doc.client_id();
    editor.send(awareness(
        ada,
        1,
        r#"{"user":{"id":"a1","name":"Ada"},"cursor":[1,2]}"#,
    ));
    let mut viewer = Client::join(&room, Role::View);
    assert!(matches!(
        viewer.message().await,
        Message::Sync(SyncMessage::SyncStep1(_))
    ));
    let Message::Awareness(present) = viewer.message().await else {
        panic!("who is here");
    };
    assert!(present.clients.contains_key(&ada));
    editor.send(awareness(
        ada,
        2,
        r#"{"user":{"id":"a1","name":"Ada"},"cursor":[3,4]}"#,
    ));
    // The tick that carried clock 1 to the editor's room-mates may reach the viewer
    // after its greeting (the same state again, which clients ignore); then the move.
    let mut clocks = Vec::new();
    while clocks.last() != Some(&2) && clocks.len() < 3 {
        let Message::Awareness(moved) = viewer.message().await else {
            panic!("the move");
        };
        clocks.push(moved.clients[&ada].clock);
    }
    assert!(
        clocks == [2] || clocks == [1, 2],
        "clocks heard: {clocks:?}"
    );
    // An update: logged before the viewer sees it, under Ada's name.
    let shapes = doc.get_or_insert_map("shapes");
    let drawn = update_of(&doc, |txn| {
        shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
    });
    editor.send(Message::Sync(SyncMessage::Update(drawn.clone())).encode_v1());
    let Message::Sync(SyncMessage::Update(seen)) = viewer.message().await else {
        panic!("the update");
    };
    assert_eq!(seen, drawn);
    let log = store.log("p");
    assert_eq!(log.len(), 1, "logged before it was seen");
    assert_eq!(log[0].2.name, "Ada");
    // The viewer's own change is refused, with a reason, and counted.
    let other = Doc::new();
    let theirs = other.get_or_insert_map("shapes");
    let forced = update_of(&other, |txn| {
        theirs.insert(txn, "x", MapPrelim::from([("type", "marker")]));
    });
    viewer.send(Message::Sync(SyncMessage::Update(forced)).encode_v1());
    let Message::Auth(Some(reason)) = viewer.message().await else {
        panic!("a refusal");
    };
    assert!(reason.contains("view-only"), "{reason}");
    assert!(!has_shape(&room, "x").await);
    assert_eq!(hub.metrics().refused_updates.load(Ordering::Relaxed), 1);
    // A text frame closes its sender with 1003; the other stays.
    let _ = viewer
        .to_hub
        .as_ref()
        .map(|to_hub| to_hub.send(Frame::Text("hello".into())));
    let Frame::Close(Some(close)) = viewer.next().await else {
        panic!("a close frame");
    };
    assert_eq!(u16::from(close.code), 1003);
    // The editor leaving takes Ada's presence with it; the room hears it.
    let mut watcher = watch(&room);
    editor.to_hub = None;
    let removal = tokio::time::timeout(Duration::from_secs(5), watcher.recv())
        .await
        .expect("a removal")
        .expect("received");
    let Ok(Message::Awareness(removal)) = Message::decode_v1(&removal) else {
        panic!("awareness");
    };
    assert_eq!(&*removal.clients[&ada].json, "null");
}

#[tokio::test]
async fn updates_are_logged_in_order_before_anyone_sees_them() {
    let (hub, _) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let mut others = watch(&room);
    let editor = Client::join(&room, Role::Edit);
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let mut sent = Vec::new();
    for i in 0..40 {
        let bytes = update_of(&client, |txn| {
            shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
        });
        editor.send(Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1());
        sent.push(bytes);
    }
    for (i, bytes) in sent.iter().enumerate() {
        let seen = tokio::time::timeout(Duration::from_secs(5), others.recv())
            .await
            .expect("sent on")
            .expect("received");
        assert_eq!(
            &seen[..],
            &Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1()[..]
        );
        let logged = hub
            .context
            .store
            .load_document("p")
            .await
            .expect("log")
            .updates;
        assert!(
            logged.len() > i,
            "update {i} was sent on before it was logged"
        );
        assert_eq!(&logged[i].1, bytes, "the log keeps the order applied");
    }
    assert_eq!(room.unlogged.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_flooding_sender_is_closed_and_its_victims_hear_every_honest_cursor() {
    let (hub, _) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let flooder = Client::join(&room, Role::View);
    let honest = Client::join(&room, Role::Edit);
    let mut reader = Client::join(&room, Role::View);
    let _ = reader.message().await; // sync step 1
    let (eve, ada) = (ClientID::new(666), ClientID::new(1));
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(3000));
    for clock in 1..=2000 {
        flooder.send(awareness(eve, clock, &big));
        if clock % 100 == 0 {
            honest.send(awareness(ada, clock / 100, r#"{"cursor":1}"#));
        }
    }
    // The reader stays, and has every cursor state of Ada's (merged at most).
    let mut last_ada = 0;
    let mut eves = 0;
    while last_ada < 20 {
        match reader.next().await {
            Frame::Binary(bytes) => {
                let Ok(Message::Awareness(update)) = Message::decode_v1(&bytes) else {
                    continue;
                };
                if let Some(entry) = update.clients.get(&ada) {
                    last_ada = entry.clock;
                }
                eves += usize::from(update.clients.contains_key(&eve));
            }
            Frame::Close(close) => panic!("the reader was closed: {close:?}"),
            _ => {}
        }
    }
    assert!(eves <= 300, "the flood was relayed: {eves} of Eve's states");
    let mut tries = 0;
    while room.connections.load(Ordering::SeqCst) != 2 {
        tries += 1;
        assert!(tries < 250, "the flooder is still connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn seats_are_kept_for_edit_links_and_one_address_cannot_fill_a_room() {
    let limits = HubLimits {
        connections_per_room: 10,
        reserved_seats: 4,
        connections_per_address: 3,
        ..HubLimits::default()
    };
    let (hub, _) = hub_in_memory(limits);
    let room = hub.room("p").await.expect("room");
    let from = |i: u8| Some(std::net::IpAddr::from([10, 0, 0, i]));
    let tokenless = |i| crate::hub::Guest {
        role: Role::View,
        linked: false,
        address: from(i),
    };
    // Six tokenless visitors from six addresses fill the open seats.
    let mut crowd = Vec::new();
    for i in 0..6 {
        let mut visitor = Client::join_as(&room, tokenless(i));
        assert!(matches!(visitor.message().await, Message::Sync(_)));
        crowd.push(visitor);
    }
    let mut seventh = Client::join_as(&room, tokenless(6));
    assert_eq!(closed_with(&mut seventh).await, 1013);
    // The owner and an editor still get in.
    let mut owner = Client::join(&room, Role::Owner);
    assert!(matches!(owner.message().await, Message::Sync(_)));
    let mut editor = Client::join(&room, Role::Edit);
    assert!(matches!(editor.message().await, Message::Sync(_)));
    // One address has three connections at most (across rooms).
    let (hub, _) = hub_in_memory(HubLimits {
        connections_per_address: 3,
        ..HubLimits::default()
    });
    let room = hub.room("p").await.expect("room");
    let mut same = Vec::new();
    for _ in 0..3 {
        let mut visitor = Client::join_as(&room, tokenless(1));
        assert!(matches!(visitor.message().await, Message::Sync(_)));
        same.push(visitor);
    }
    let mut fourth = Client::join_as(&room, tokenless(1));
    assert_eq!(closed_with(&mut fourth).await, 1008);
    let mut elsewhere = Client::join_as(&room, tokenless(2));
    assert!(matches!(elsewhere.message().await, Message::Sync(_)));
    // Leaving gives the address its place back.
    same.pop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = Client::join_as(&room, tokenless(1));
    assert!(matches!(again.message().await, Message::Sync(_)));
}
