import { Injectable, type PipeTransform } from '@nestjs/common';
import { CommonErrors } from '../errors/domain-error';

/** `{username}` matches `[A-Za-z0-9_]+` (ArkID); anything else cannot name a user, so it is a 404. */
@Injectable()
export class UsernamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(value)) throw CommonErrors.notFound();
    return value;
  }
}

/** `{uid}` and `{node_uid}` match `[A-Za-z0-9_|-]+` (ArkID); anything else cannot name a node: 404. */
@Injectable()
export class NodeUidPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[A-Za-z0-9_|-]{1,80}$/.test(value)) throw CommonErrors.notFound();
    return value;
  }
}
