// @vitest-environment jsdom
import L from 'leaflet';
import { describe, expect, it } from 'vitest';
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { SharedAwareness } from '../sync/awareness';
import { Follower } from './follower';

/** A map as far as the follower sees it: events, and flights that are only recorded
 *  (the test fires their movestart and moveend). */
class FakeMap extends L.Evented {
  flights: L.LatLngBounds[] = [];
  flyToBounds(bounds: L.LatLngBounds): this {
    this.flights.push(bounds);
    return this;
  }
}

/** This page's awareness, and another person (`them`) whose view it can follow. */
function people() {
  const mine = new Awareness(new Y.Doc());
  const theirs = new Awareness(new Y.Doc());
  const move = (x: number) => {
    theirs.setLocalStateField('viewport', { x, y: 0, width: 1000, height: 800 });
    applyAwarenessUpdate(mine, encodeAwarenessUpdate(theirs, [theirs.clientID]), 'test');
  };
  move(0);
  return { awareness: new SharedAwareness(mine), them: theirs.clientID, move };
}

describe('Follower', () => {
  it('flies to the view it follows, and a drag during the flight takes the map back', () => {
    const map = new FakeMap();
    const { awareness, them, move } = people();
    const follower = new Follower(map as unknown as L.Map, 8, awareness);
    follower.follow(them, true);
    expect(map.flights).toHaveLength(1);
    // The flight starts: its own movestart and zoomstart do not end the following.
    map.fire('movestart').fire('zoomstart');
    expect(follower.following).toBe(them);
    // Their view changes again: a new flight, and the person drags at that moment.
    move(500);
    expect(map.flights).toHaveLength(2);
    map.fire('movestart').fire('dragstart');
    expect(follower.following).toBeNull();
    expect(follower.byTour).toBe(false);
    // No longer following: their moves no longer move this map.
    move(900);
    expect(map.flights).toHaveLength(2);
    follower.dispose();
  });

  it('a wheel or key move after the flight landed ends the following; one during it does not', () => {
    const map = new FakeMap();
    const { awareness, them } = people();
    const follower = new Follower(map as unknown as L.Map, 8, awareness);
    follower.follow(them);
    map.fire('zoomstart');
    expect(follower.following).toBe(them);
    map.fire('moveend'); // landed
    map.fire('movestart');
    expect(follower.following).toBeNull();
    follower.dispose();
  });
});
