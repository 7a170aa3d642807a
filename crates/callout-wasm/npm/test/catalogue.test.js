// The catalogue of targets, events and tags.

import assert from "node:assert/strict";
import { test } from "node:test";

import { catalogue } from "@callout/template";

test("catalogue lists targets and events", () => {
  const { targets } = catalogue();
  assert.deepEqual(
    targets.map((target) => [target.name, target.events]),
    [
      ["callinglist", ["import", "add", "delete"]],
      ["campaigns", ["create", "delete"]],
    ],
  );
  for (const target of targets) {
    assert.ok(target.description.length > 0, target.name);
  }
});

test("catalogue lists every tag", () => {
  const { tags, agent_columns } = catalogue();
  assert.deepEqual(agent_columns, []);
  assert.deepEqual(tags.map((tag) => tag.name), [
    "client.id",
    "client.identification",
    "client.name",
    "agent.id",
    "agent.name",
    "agent.username",
    "agent.lang",
    "agent.email",
    "calling_list.id",
    "campaign.id",
    "campaign.copy_of",
  ]);
  const byName = Object.fromEntries(tags.map((tag) => [tag.name, tag]));
  assert.equal(byName["agent.id"].scope, "every");
  assert.equal(byName["agent.id"].optional, false);
  assert.equal(byName["agent.email"].optional, true);
  assert.deepEqual(byName["calling_list.id"].scope, {
    target: { target: "callinglist", events: ["import", "add", "delete"] },
  });
  assert.deepEqual(byName["campaign.copy_of"].scope, {
    target: { target: "campaigns", events: ["create"] },
  });
});

test("catalogue agent columns become tags", () => {
  const { tags, agent_columns } = catalogue(["team", "name", "team", "site"]);
  // "name" repeats the built-in `agent.name` and the second "team" repeats the first.
  assert.deepEqual(agent_columns, ["team", "site"]);
  const team = tags.find((tag) => tag.name === "agent.team");
  assert.ok(team, "agent.team is a tag");
  assert.equal(team.optional, true);
  assert.equal(team.scope, "every");
  assert.equal(tags.filter((tag) => tag.name === "agent.name").length, 1);
});
