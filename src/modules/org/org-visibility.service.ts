import { Injectable } from '@nestjs/common';
import type { Principal } from '../../common/guards/principal';
import type { UserResponseDto } from '../accounts/dto/user-response.dto';
import { UsersService } from '../accounts/users.service';
import type { OrgNode } from './entities/org-node.entity';
import { NodeVisibility } from './entities/org-node.entity';
import { MembershipsRepository } from './memberships.repository';
import { refForRoute } from './node-uid';
import { toNodeLite } from './org-node.mapper';
import { OrgErrors } from './org.errors';
import { OrgNodesRepository } from './org-nodes.repository';
import { OrgService } from './org.service';
import { SubtreeCache } from './subtree-cache';
import { isOpenTo, type Viewer, viewerOf, type VisibilityRule, visibleShape } from './visibility';

/** What a signed-in employee may see of the organization (`ucenter/node/…`, `ucenter/user/…`). */
@Injectable()
export class OrgVisibilityService {
  constructor(
    private readonly nodes: OrgNodesRepository,
    private readonly memberships: MembershipsRepository,
    private readonly org: OrgService,
    private readonly users: UsersService,
    private readonly subtrees: SubtreeCache,
  ) {}

  async node(principal: Principal, nodeUid: string): Promise<Record<string, unknown>> {
    const node = await this.org.requireNode(refForRoute('node', nodeUid));
    const viewer = await this.viewerFor(principal);
    if (viewer && !(await this.openSet([node], viewer)).has(node.id)) throw OrgErrors.notFound();
    return toNodeLite(node);
  }

  async tree(principal: Principal, nodeUid: string, userRequired: boolean): Promise<object> {
    const root = await this.org.requireNode(refForRoute('node', nodeUid));
    const viewer = await this.viewerFor(principal);
    if (!viewer) return this.org.buildTree(root, 'nodes', { userRequired, shape: null });
    const subtree = await this.subtrees.subtree(root);
    const open = await this.openSet(subtree, viewer);
    const shape = visibleShape(subtree, root.id, (id) => open.has(id));
    if (!shape.has(root.id)) throw OrgErrors.notFound();
    return this.org.buildTree(root, 'nodes', { userRequired, shape }, subtree);
  }

  /** A user is visible to itself, and to whoever may open one of its direct nodes. */
  async user(principal: Principal, username: string): Promise<UserResponseDto> {
    const target = await this.users.findLiveByUsername(username);
    if (!target) throw OrgErrors.notFound();
    const viewer = await this.viewerFor(principal);
    if (viewer && target.id !== viewer.userId) {
      const targetNodes = await this.nodes.findByIds(
        (await this.memberships.ofUsers([target.id])).map((m) => m.nodeId),
      );
      if ((await this.openSet(targetNodes, viewer)).size === 0) throw OrgErrors.notFound();
    }
    return this.users.toUserResponse(target);
  }

  /** null for admins, who see everything. */
  private async viewerFor(principal: Principal): Promise<Viewer | null> {
    if (principal.roles.includes('admin')) return null;
    const direct = await this.nodes.findByIds(
      (await this.memberships.ofUsers([principal.userId])).map((m) => m.nodeId),
    );
    return viewerOf(principal.userId, direct);
  }

  /** Ids of the given nodes that are open to the viewer; visibility-4 lists are loaded in one go. */
  private async openSet(nodes: readonly OrgNode[], viewer: Viewer): Promise<Set<number>> {
    const listed = nodes.filter((n) => n.visibility === NodeVisibility.Listed).map((n) => n.id);
    const scopes = await this.nodes.scopesOf(listed);
    const scopeNodes = new Map<number, number[]>();
    const scopeUsers = new Map<number, number[]>();
    for (const s of scopes.nodes)
      (scopeNodes.get(s.nodeId) ?? scopeNodes.set(s.nodeId, []).get(s.nodeId))?.push(s.targetNodeId);
    for (const s of scopes.users)
      (scopeUsers.get(s.nodeId) ?? scopeUsers.set(s.nodeId, []).get(s.nodeId))?.push(s.userId);
    const open = new Set<number>();
    for (const node of nodes) {
      const rule: VisibilityRule = {
        id: node.id,
        visibility: node.visibility,
        scopeNodeIds: scopeNodes.get(node.id) ?? [],
        scopeUserIds: scopeUsers.get(node.id) ?? [],
      };
      if (isOpenTo(rule, viewer)) open.add(node.id);
    }
    return open;
  }
}
